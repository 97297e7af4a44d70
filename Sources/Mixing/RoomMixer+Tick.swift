import Opus
import Wire

extension RoomMixer {
    /// Runs every frame due at `now` and returns one encoded frame per
    /// listener per frame, in frame order. Frames are due every 20 ms from
    /// the first tick; a late call catches up (up to
    /// `maximumCatchUpFrames`) or skips whole frames, so the grid never
    /// drifts. Early calls return nothing.
    public func tick(now: Instant) -> [MixedFrame] {
        guard !listenerMix.isEmpty else { return [] }
        var due = deadline ?? now
        guard now >= due else { return [] }
        let behind = Int((now - due).nanoseconds / Self.frameDuration.nanoseconds) + 1
        if behind > configuration.maximumCatchUpFrames {
            // Too late to send a burst: skip whole frames, keeping the phase.
            let skip = behind - 1
            counters.skippedFrames += skip
            frameIndex &+= UInt32(truncatingIfNeeded: skip)
            due = due + Self.frameDuration * Int64(skip)
            for c in contributors.values {
                for _ in 0..<skip { _ = c.buffer.pop(now: now) }
            }
        }
        var frames: [MixedFrame] = []
        frames.reserveCapacity(listenerMix.count * min(behind, configuration.maximumCatchUpFrames))
        while due <= now {
            mixOneFrame(now: now, into: &frames)
            due = due + Self.frameDuration
        }
        deadline = due
        return frames
    }

    /// Decodes every contributor once, chooses the speakers, sums them, then
    /// limits and encodes each distinct mix once.
    private func mixOneFrame(now: Instant, into frames: inout [MixedFrame]) {
        counters.frames += 1
        let n = Self.frameSamples
        for key in contributorOrder {
            guard let c = contributors[key] else { continue }
            // A contributor in the mix is decoded whole; one outside it only
            // where its sender marks voice (and one quiet packet in ten, to check).
            c.produce(now: now, counters: &counters, skipQuiet: !mixed.contains(key))
            guard c.isActive else {
                c.loudness = AudioLevel.silence
                continue
            }
            if c.level >= configuration.speechLevel {
                c.lastSpeechFrame = frameIndex
                // Speech in a packet its sender called quiet: its marks are wrong.
                if c.checkedQuiet { c.trustsQuietMarks = false }
            }
            c.loudness = c.loudness <= AudioLevel.silence ? c.level : 0.8 * c.loudness + 0.2 * c.level
        }
        let speakers = selectSpeakers()
        if speakers != mixed {
            mixed = speakers
            counters.speakerChanges += 1
            assignOutputs()
        }
        full.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        for key in mixed {
            guard let c = contributors[key], c.isActive else { continue }
            c.frame.withUnsafeBufferPointer { src in
                full.withUnsafeMutableBufferPointer { dst in for i in 0..<n { dst[i] += src[i] } }
            }
        }
        let timestamp = frameIndex &* UInt32(n)
        frameIndex &+= 1
        let passthroughLimit = passthroughMaximumBytes
        for output in outputs.values {
            // A quarter more room to stay than to start: sizes near the limit don't flip it.
            if passthroughLimit > 0, let voice = soleVoice(of: output.key),
               voice.fitsPassthrough(maximumBytes: output.passingThrough == voice.key ? passthroughLimit * 5 / 4 : passthroughLimit) {
                output.passingThrough = voice.key
                guard let packet = voice.sole else {
                    // Lost or late on the way in: nothing this frame. The
                    // listener conceals it, with the sender's own FEC in the
                    // next packet, as it would had it received the voice directly.
                    counters.passthroughGaps += 1
                    continue
                }
                counters.passthroughs += 1
                for listener in output.listeners {
                    frames.append(MixedFrame(listener: listener, payload: packet, timestamp: timestamp))
                }
                continue
            }
            if output.passingThrough != nil {
                // Back to encoding: start the encoder afresh rather than from
                // a signal the listener stopped hearing frames ago.
                output.passingThrough = nil
                output.encoder.reset()
                output.limiter = SoftLimiter()
            }
            // Mix-minus: the full sum less the listener's own contribution,
            // so each contributor costs one subtraction, not a second sum.
            full.withUnsafeBufferPointer { f in
                output.mix.withUnsafeMutableBufferPointer { m in
                    if case .minus(let own) = output.key, let c = contributors[own], c.isActive {
                        c.frame.withUnsafeBufferPointer { o in for i in 0..<n { m[i] = f[i] - o[i] } }
                    } else {
                        for i in 0..<n { m[i] = f[i] }
                    }
                }
            }
            let limited = output.mix.withUnsafeBufferPointer { m in
                output.pcm.withUnsafeMutableBufferPointer { p in output.limiter.process(m, into: p) }
            }
            if limited { counters.limitedFrames += 1 }
            counters.encodes += 1
            let length: Int
            do {
                length = try output.pcm.withUnsafeBufferPointer { p throws(OpusError) in
                    try output.packet.withUnsafeMutableBufferPointer { o throws(OpusError) in
                        try output.encoder.encode(p, samplesPerChannel: n, into: o)
                    }
                }
            } catch {
                counters.encodeErrors += 1
                continue
            }
            let payload = Array(output.packet[0..<length])
            for listener in output.listeners {
                frames.append(MixedFrame(listener: listener, payload: payload, timestamp: timestamp))
            }
        }
    }

    /// The one active voice in the mix `key`, when it holds exactly one.
    private func soleVoice(of key: MixKey) -> MixContributor? {
        var only: MixContributor?
        for k in mixed {
            if case .minus(let own) = key, own == k { continue }
            guard let c = contributors[k], c.isActive else { continue }
            if only != nil { return nil }
            only = c
        }
        return only
    }
}
