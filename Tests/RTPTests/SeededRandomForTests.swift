import CohortTestSupport

/// Convenience draws over the shared SplitMix64 generator.
struct SeededRandomForTests {
    var base: SeededRandom

    init(seed: UInt64) { base = SeededRandom(seed: seed) }

    /// 0 ..< bound (bound > 0).
    mutating func int(_ bound: Int) -> Int { Int(base.next() % UInt64(bound)) }
    mutating func uint32() -> UInt32 { UInt32(truncatingIfNeeded: base.next()) }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: base.next()) }
}
