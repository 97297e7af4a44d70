// One libFuzzer binary for every parser Cohort exposes to peers. The target
// is chosen by COHORT_FUZZ_TARGET; Scripts/fuzz.sh builds it with
// -sanitize=fuzzer and runs each target for a given time. A normal build
// compiles only the usage message below.
import ControlPlane
import DTLS
import RTP
import SDP
import SRTP
import STUN
import Wire

#if COHORT_FUZZ
import Foundation

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

nonisolated(unsafe) let fuzzTarget: ([UInt8]) -> Void = {
    switch ProcessInfo.processInfo.environment["COHORT_FUZZ_TARGET"] ?? "" {
    case "stun": return { StunFuzz.run($0) }
    case "rtp": return { RTPFuzz.run($0) }
    case "rtcp": return { RTCPFuzz.run($0) }
    case "sdp": return { SDPFuzz.run($0) }
    case "dtls": return { DTLSFuzz.run($0) }
    case "srtp": return { SRTPFuzz.run($0) }
    case "demux": return { _ = PacketClass.classify($0) }
    case "json": return { ControlPlaneFuzz.message($0) }
    case "websocket": return { ControlPlaneFuzz.webSocket($0) }
    default:
        fatalError("set COHORT_FUZZ_TARGET to stun, rtp, rtcp, sdp, dtls, srtp, demux, json or websocket")
    }
}()

/// libFuzzer's entry point (its own main calls it when linked first).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzTarget(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

@main
enum FuzzMain {
    // SwiftPM aliases `main` to this entry point; it hands control to the
    // libFuzzer driver with the same callback.
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { fuzzOneInput($0, $1) })
    }
}
#else
@main
enum FuzzUsage {
    static func main() {
        print("cohort-fuzz is built by Scripts/fuzz.sh with -sanitize=fuzzer")
    }
}
#endif
