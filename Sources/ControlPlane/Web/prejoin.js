// The pre-join screen: camera preview, microphone level, speaker test tone,
// device pickers and "join with camera / microphone off". The stream it
// previews is the one the call sends (app.js join() takes it with
// takePreview()), so what the person checked is what the others get.
// An ES module imported by app.js; it only defines functions.
//
// Test hook: `&testTone=HZ` replaces the microphone with a WebAudio sine of
// HZ hertz (app.js header); the level meter then shows that tone.
import { $, state } from "./app.js";

const params = new URLSearchParams(location.search);
const testTone = Number(params.get("testTone")) || null;

// The speaker test plays this tone for this long (through the chosen speaker).
export const SPEAKER_TEST_HZ = 440;
const SPEAKER_TEST_MS = 2000;

const preview = {
  stream: null,        // the previewed MediaStream (handed over on join)
  ready: null,         // Promise of the stream (null: not started)
  audioContext: null,  // for the level meter, the test tone and testTone
  meter: null,         // {analyser, timer}
  sinkId: "",          // chosen speaker ("" = default)
};

// What the person should know about their devices; null when all is well.
// Kept out of #message, which is for errors that stop joining.
function note(text) {
  const el = $("device-note");
  el.textContent = text || "";
  el.hidden = !text;
}

function audioContext() {
  if (!preview.audioContext || preview.audioContext.state === "closed") preview.audioContext = new AudioContext({ sampleRate: 48000 });
  return preview.audioContext;
}

// A sine of `hz` as a MediaStreamTrack (test tone microphone, speaker test).
function toneTrack(hz, amplitude) {
  const context = audioContext();
  context.resume().catch(() => {});
  const osc = context.createOscillator();
  osc.frequency.value = hz;
  const gain = context.createGain();
  gain.gain.value = amplitude;
  const sink = context.createMediaStreamDestination();
  osc.connect(gain).connect(sink);
  osc.start();
  const [track] = sink.stream.getAudioTracks();
  track.addEventListener("ended", () => osc.stop());
  return { track, stop: () => { try { osc.stop(); } catch { /* stopped */ } osc.disconnect(); } };
}

// getUserMedia for the chosen devices. A missing camera or microphone is not
// fatal: the person joins with what there is, and is told so.
async function openDevices() {
  const camera = $("camera-select").value, mic = $("mic-select").value;
  const video = { width: 640, height: 480, ...(camera ? { deviceId: { exact: camera } } : {}) };
  const audio = testTone ? false : (mic ? { deviceId: { exact: mic } } : true);
  const attempts = [{ audio, video }, { audio, video: false }, { audio: false, video }];
  let firstError = null;
  for (const constraints of attempts) {
    if (!constraints.audio && !constraints.video) continue;
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      return { stream, error: firstError };
    } catch (err) {
      firstError = firstError || err;
      // Denied or unusable: another combination would be refused the same way.
      if (err.name !== "NotFoundError" && err.name !== "OverconstrainedError") break;
    }
  }
  if (testTone) return { stream: new MediaStream(), error: firstError };
  throw firstError;
}

/** Text for a getUserMedia failure (DOMException names, Media Capture §9.2). */
export function mediaErrorText(err) {
  switch (err && err.name) {
    case "NotAllowedError": case "SecurityError":
      return "Cohort cannot use your camera and microphone: the browser blocked them. Allow them (the camera icon in the address bar), then reload this page.";
    case "NotFoundError":
      return "No camera or microphone was found. Connect one and reload this page.";
    case "NotReadableError": case "AbortError":
      return "Your camera or microphone is in use by another program. Close that program and reload this page.";
    default:
      return "Your camera and microphone could not be started. Reload this page to try again.";
  }
}

/** Starts (or restarts, after a device choice) the preview. Resolves with the
 * stream, possibly without camera or microphone; never rejects. */
export function startPreview() {
  stopPreview();
  const run = (async () => {
    let stream = null;
    try {
      const opened = await openDevices();
      stream = opened.stream;
      if (testTone) stream.addTrack(toneTrack(testTone, 0.25).track);
      const hasVideo = stream.getVideoTracks().length > 0, hasAudio = stream.getAudioTracks().length > 0;
      if (!hasVideo && !hasAudio) note(mediaErrorText(opened.error));
      else if (!hasVideo) note("No camera was found. You can join with your microphone only.");
      else if (!hasAudio) note("No microphone was found. You can join, but nobody will hear you.");
      else note(null);
    } catch (err) {
      console.warn("preview failed", err.name);
      note(mediaErrorText(err));
      stream = new MediaStream();
    }
    if (preview.ready !== run) { stream.getTracks().forEach((t) => t.stop()); return null; }
    preview.stream = stream;
    showPreview();
    await listDevices();
    return stream;
  })();
  preview.ready = run;
  return run;
}

// Shows the preview and the meter for the current stream and switches.
function showPreview() {
  const stream = preview.stream;
  if (!stream) return;
  const [video] = stream.getVideoTracks(), [audio] = stream.getAudioTracks();
  $("prejoin-cam").disabled = !video;
  $("prejoin-mic").disabled = !audio;
  if (!video) $("prejoin-cam").checked = false;
  if (!audio) $("prejoin-mic").checked = false;
  applySwitches();
  $("preview").srcObject = video ? new MediaStream([video]) : null;
  startMeter(audio);
}

// The switches decide whether the tracks start enabled: a disabled camera
// track sends black frames and a disabled microphone silence, and either can
// be turned on in the call without a new offer.
function applySwitches() {
  const stream = preview.stream;
  if (!stream) return;
  const camOn = $("prejoin-cam").checked, micOn = $("prejoin-mic").checked;
  for (const t of stream.getVideoTracks()) t.enabled = camOn;
  for (const t of stream.getAudioTracks()) t.enabled = micOn;
  $("preview-off").hidden = camOn && stream.getVideoTracks().length > 0;
  $("preview-off").textContent = stream.getVideoTracks().length ? "Your camera is off" : "No camera";
}

// The level meter: refreshed ten times a second with the loudest 1024-sample
// RMS block of the last 8192 samples (about 170 ms, so consecutive refreshes
// overlap and a short sound between two of them is never missed; a 1024-sample
// window read every 100 ms saw only a fifth of the time and could miss
// Chromium's short fake beep for seconds).
function startMeter(track) {
  stopMeter();
  $("mic-level").value = 0;
  if (!track) return;
  const context = audioContext();
  context.resume().catch(() => {});
  const source = context.createMediaStreamSource(new MediaStream([track]));
  const analyser = context.createAnalyser();
  analyser.fftSize = 8192;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const block = 1024;
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let loudest = 0;
    for (let start = 0; start < samples.length; start += block) {
      let sum = 0;
      for (let i = start; i < start + block; i++) sum += samples[i] * samples[i];
      loudest = Math.max(loudest, sum / block);
    }
    // A disabled track delivers silence, so the meter shows "muted" honestly.
    $("mic-level").value = Math.min(1, Math.sqrt(loudest) * 3);
  }, 100);
  preview.meter = { source, analyser, timer };
}

function stopMeter() {
  if (!preview.meter) return;
  clearInterval(preview.meter.timer);
  preview.meter.source.disconnect();
  preview.meter = null;
}

function stopPreview() {
  stopMeter();
  if (preview.stream) preview.stream.getTracks().forEach((t) => t.stop());
  preview.stream = null;
  preview.ready = null;
  $("preview").srcObject = null;
}

/** The previewed stream for the call (waits for the preview to start; starts
 * it if needed). The preview lets go of it: the call owns it now. */
export async function takePreview() {
  let stream = await (preview.ready || startPreview());
  while (!stream && preview.ready) stream = await preview.ready;  // a device change restarted it
  stopMeter();
  preview.stream = null;
  preview.ready = null;
  $("preview").srcObject = null;
  return stream || new MediaStream();
}

// Fills the three pickers (labels are only known once permission is given).
async function listDevices() {
  let devices = [];
  try { devices = await navigator.mediaDevices.enumerateDevices(); } catch { return; }
  const fill = (select, kind, current, fallback) => {
    const list = devices.filter((d) => d.kind === kind && d.deviceId);
    const chosen = current || select.value;
    select.replaceChildren(...list.map((d, i) => new Option(d.label || `${fallback} ${i + 1}`, d.deviceId)));
    if (list.some((d) => d.deviceId === chosen)) select.value = chosen;
    select.disabled = list.length === 0;
  };
  const stream = preview.stream;
  const used = (kind) => {
    const track = stream && (kind === "video" ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0]);
    return track && track.getSettings ? track.getSettings().deviceId : "";
  };
  fill($("camera-select"), "videoinput", used("video"), "Camera");
  fill($("mic-select"), "audioinput", testTone ? "" : used("audio"), "Microphone");
  // Choosing the speaker needs setSinkId (not in every browser).
  if ("setSinkId" in HTMLMediaElement.prototype) {
    fill($("speaker-select"), "audiooutput", preview.sinkId, "Speaker");
    $("speaker-row").hidden = $("speaker-select").options.length === 0;
  }
}

/** The chosen speaker, for every <audio> of the call. */
export function applySink(element) {
  if (preview.sinkId && element.setSinkId) element.setSinkId(preview.sinkId).catch((err) => console.warn("setSinkId", err.name));
}

// Plays SPEAKER_TEST_HZ through the chosen speaker for SPEAKER_TEST_MS.
async function speakerTest() {
  const button = $("speaker-test"), player = $("speaker-test-audio");
  if (player.srcObject) return;
  const tone = toneTrack(SPEAKER_TEST_HZ, 0.2);
  player.srcObject = new MediaStream([tone.track]);
  applySink(player);
  button.textContent = "Playing test sound…";
  button.setAttribute("aria-disabled", "true");
  try { await player.play(); } catch (err) { console.warn("test sound", err.name); }
  setTimeout(() => {
    tone.stop();
    tone.track.stop();
    player.srcObject = null;
    button.textContent = "Play test sound";
    button.removeAttribute("aria-disabled");
  }, SPEAKER_TEST_MS);
}

export function wirePrejoin() {
  // Browsers start an AudioContext made before any user gesture suspended
  // (autoplay policy): the meter then reads silence until the first click or key.
  for (const type of ["pointerdown", "keydown"]) {
    document.addEventListener(type, () => { if (preview.audioContext) preview.audioContext.resume().catch(() => {}); }, { capture: true });
  }
  $("prejoin-cam").onchange = applySwitches;
  $("prejoin-mic").onchange = applySwitches;
  $("camera-select").onchange = () => startPreview();
  $("mic-select").onchange = () => startPreview();
  $("speaker-select").onchange = () => {
    preview.sinkId = $("speaker-select").value;
    for (const a of state.players.values()) applySink(a);
  };
  $("speaker-test").onclick = speakerTest;
}

/** Whether the person chose to join with camera / microphone on. */
export function joinChoices() {
  return { cam: $("prejoin-cam").checked, mic: $("prejoin-mic").checked };
}
