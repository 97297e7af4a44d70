// In-page WebRTC helper for the end-to-end tests (installed by chromium.py
// with Runtime.evaluate).  Everything hangs off window.cohortTest; every
// async function is awaited from Python with a timeout.
window.cohortTest = (() => {
  const T = {
    pc: null,
    local: null,          // MediaStream sent by this page
    remote: {},           // mid -> MediaStreamTrack received
    audioContext: null,
    log: [],
  };

  function ctx() {
    if (!T.audioContext) T.audioContext = new AudioContext({ sampleRate: 48000 });
    return T.audioContext;
  }

  // Local media: fake camera (and fake microphone unless toneHz is given,
  // in which case the audio is a WebAudio oscillator at toneHz).
  T.getMedia = async ({ toneHz = null, video = true, width = 320, height = 240, amplitude = 0.25 } = {}) => {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: toneHz === null,
      video: video ? { width, height } : false,
    });
    if (toneHz !== null) {
      const c = ctx();
      await c.resume();
      const osc = c.createOscillator();
      osc.frequency.value = toneHz;
      const gain = c.createGain();
      gain.gain.value = amplitude;
      const dest = c.createMediaStreamDestination();
      osc.connect(gain).connect(dest);
      osc.start();
      stream.addTrack(dest.stream.getAudioTracks()[0]);
    }
    T.local = stream;
    return stream.getTracks().map((t) => ({ kind: t.kind, label: t.label }));
  };

  T.newPc = () => {
    T.pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: "max-bundle" });
    T.remote = {};
    T.pc.ontrack = (e) => {
      T.remote[e.transceiver.mid] = e.track;
    };
    T.pc.onconnectionstatechange = () => T.log.push(`${performance.now() | 0} ${T.pc.connectionState}`);
    return true;
  };

  T.gathered = (timeoutMs = 10000) =>
    new Promise((resolve, reject) => {
      if (T.pc.iceGatheringState === "complete") return resolve();
      const timer = setTimeout(() => reject(new Error("ICE gathering timed out")), timeoutMs);
      T.pc.addEventListener("icegatheringstatechange", () => {
        if (T.pc.iceGatheringState === "complete") {
          clearTimeout(timer);
          resolve();
        }
      });
    });

  // Answer a Cohort-layout offer directly (peer-to-peer validation): the
  // page's audio goes into the first recvonly audio m-line, its video into
  // the first recvonly video m-line; everything the offerer sends is
  // received.  Returns the complete answer SDP.
  T.answer = async (offerSdp) => {
    if (!T.pc) T.newPc();
    await T.pc.setRemoteDescription({ type: "offer", sdp: offerSdp });
    const recvonly = parseDirections(offerSdp);
    const filled = new Set();
    for (const t of T.pc.getTransceivers()) {
      const kind = t.receiver.track.kind;
      if (recvonly[t.mid] !== "recvonly" || filled.has(kind)) continue;
      const track = T.local && T.local.getTracks().find((x) => x.kind === kind);
      if (!track) continue;
      t.direction = "sendonly";
      await t.sender.replaceTrack(track);
      filled.add(kind);
    }
    await T.pc.setLocalDescription(await T.pc.createAnswer());
    await T.gathered();
    return T.pc.localDescription.sdp;
  };

  // Offer in the Cohort client layout: own audio + video sendonly, then
  // `slots` recvonly audio and `slots` recvonly video.
  T.offer = async ({ slots = 4 } = {}) => {
    if (!T.pc) T.newPc();
    const tracks = T.local ? T.local.getTracks() : [];
    for (const kind of ["audio", "video"]) {
      const track = tracks.find((x) => x.kind === kind);
      T.pc.addTransceiver(track || kind, { direction: track ? "sendonly" : "inactive" });
    }
    for (const kind of ["audio", "video"])
      for (let i = 0; i < slots; i++) T.pc.addTransceiver(kind, { direction: "recvonly" });
    await T.pc.setLocalDescription(await T.pc.createOffer());
    await T.gathered();
    return T.pc.localDescription.sdp;
  };

  T.acceptAnswer = async (sdp) => {
    await T.pc.setRemoteDescription({ type: "answer", sdp });
    return true;
  };

  function parseDirections(sdp) {
    const out = {};
    let mid = null, dir = "sendrecv";
    const flush = () => { if (mid !== null) out[mid] = dir; };
    for (const line of sdp.split(/\r?\n/)) {
      if (line.startsWith("m=")) { flush(); mid = null; dir = "sendrecv"; }
      else if (line.startsWith("a=mid:")) mid = line.slice(6);
      else if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line)) dir = line.slice(2);
    }
    flush();
    return out;
  }

  T.statsSummary = async (pc) => {
    pc = pc || T.pc;
    const report = await pc.getStats();
    const inbound = [], outbound = [];
    report.forEach((s) => {
      if (s.type === "inbound-rtp") {
        inbound.push({
          mid: s.mid ?? null, kind: s.kind, ssrc: s.ssrc, trackIdentifier: s.trackIdentifier ?? null,
          packetsReceived: s.packetsReceived ?? 0, packetsLost: s.packetsLost ?? 0,
          jitter: s.jitter ?? null, bytesReceived: s.bytesReceived ?? 0,
          framesDecoded: s.framesDecoded ?? null, keyFramesDecoded: s.keyFramesDecoded ?? null,
          frameWidth: s.frameWidth ?? null, frameHeight: s.frameHeight ?? null,
          totalAudioEnergy: s.totalAudioEnergy ?? null, audioLevel: s.audioLevel ?? null,
          totalSamplesReceived: s.totalSamplesReceived ?? null, concealedSamples: s.concealedSamples ?? null,
          nackCount: s.nackCount ?? null, pliCount: s.pliCount ?? null,
        });
      } else if (s.type === "outbound-rtp") {
        outbound.push({
          mid: s.mid ?? null, kind: s.kind, ssrc: s.ssrc, packetsSent: s.packetsSent ?? 0,
          bytesSent: s.bytesSent ?? 0, framesEncoded: s.framesEncoded ?? null,
        });
      }
    });
    return { connectionState: pc.connectionState, iceConnectionState: pc.iceConnectionState, inbound, outbound };
  };

  // Record `seconds` of the audio received on `mid` through WebAudio and
  // return {rate, samples} (mono float) for analysis in Python.  Chromium
  // only renders a remote track into WebAudio while it is also attached to
  // a media element, hence the muted <audio>.
  T.captureAudio = async (mid, seconds = 1.5) => {
    const track = T.remote[mid];
    if (!track) throw new Error(`no remote track on mid ${mid}`);
    const stream = new MediaStream([track]);
    const el = new Audio();
    el.muted = true;
    el.srcObject = stream;
    await el.play().catch(() => {});
    const c = ctx();
    await c.resume();
    const source = c.createMediaStreamSource(stream);
    const bufferSize = 4096;
    const node = c.createScriptProcessor(bufferSize, 1, 1);
    const sink = c.createGain();
    sink.gain.value = 0;
    const wanted = Math.ceil(seconds * c.sampleRate);
    const chunks = [];
    let have = 0;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("audio capture timed out")), seconds * 1000 + 5000);
      node.onaudioprocess = (e) => {
        if (have >= wanted) return;
        const data = e.inputBuffer.getChannelData(0);
        chunks.push(Array.from(data));
        have += data.length;
        if (have >= wanted) { clearTimeout(timer); resolve(); }
      };
      source.connect(node);
      node.connect(sink).connect(c.destination);
    });
    source.disconnect(); node.disconnect(); sink.disconnect();
    el.srcObject = null;
    return { rate: c.sampleRate, samples: chunks.flat() };
  };

  // Play every received audio track through an <audio> element.  Chromium
  // pulls (and so decodes, and counts totalAudioEnergy/totalSamplesReceived
  // for) a remote audio track only while something renders it; the browser
  // runs with --mute-audio, so nothing is audible.
  T.playing = {};
  T.playRemoteAudio = async () => {
    for (const [mid, track] of Object.entries(T.remote)) {
      if (track.kind !== "audio" || T.playing[mid]) continue;
      const el = new Audio();
      el.srcObject = new MediaStream([track]);
      T.playing[mid] = el;
      await el.play().catch((e) => T.log.push(`play ${mid}: ${e}`));
    }
    return Object.keys(T.playing);
  };

  T.close = () => {
    if (T.pc) T.pc.close();
    if (T.local) T.local.getTracks().forEach((t) => t.stop());
    return true;
  };

  return T;
})();
true;
