// Cohort web client: no build step. Joins with the token from the link,
// negotiates once (own tracks plus fixed receive slots), then follows the
// server's slot map and roster to show and label tiles. See docs/PROTOCOL.md.
// Session features (rooms, countdown, hand, chat, broadcasts, speaking) are
// in session.js, the host panel in host.js; both share this file's globals.
//
// Test hook (documented in Tests/e2e/README.md): `&testTone=HZ` in the URL
// replaces the microphone with a WebAudio sine of HZ hertz, so end-to-end
// tests can tell participants apart by ear. Nothing else changes.
"use strict";

// Receive slots per kind: a group of up to 13 sees and hears everyone. The
// server fills slots in joining order (no loudest-N yet) and uses at most
// EngineConfiguration.maxSlots (16) per kind.
const SLOTS = 12;

// Offer only what Cohort forwards (Opus, VP8): the server would refuse the
// rest anyway, and Chrome's full codec list costs ~2.5 KB per video section,
// which would push a 12-slot offer past the 64 KiB message limit (close 1009).
function preferCohortCodecs(transceiver, kind) {
  if (!transceiver.setCodecPreferences || !window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities) return;
  // VP8 with its retransmission format (RFC 4588 rtx), so that repairs travel
  // on their own SSRC and the browser's statistics and bandwidth estimate can
  // tell them from first transmissions (docs/PROTOCOL.md, "Loss repair").
  const want = kind === "audio" ? ["audio/opus"] : ["video/vp8", "video/rtx"];
  const codecs = (RTCRtpReceiver.getCapabilities(kind) || { codecs: [] }).codecs
    .filter((c) => want.includes(c.mimeType.toLowerCase()));
  if (!codecs.length) return;
  try { transceiver.setCodecPreferences(codecs); } catch {
    // A browser that refuses rtx on its own keeps VP8 alone (repairs then use the media SSRC).
    transceiver.setCodecPreferences(codecs.filter((c) => c.mimeType.toLowerCase() !== "video/rtx"));
  }
}
const params = new URLSearchParams(location.search);
const token = params.get("token");
const testTone = Number(params.get("testTone")) || null;
const $ = (id) => document.getElementById(id);

const state = {
  ws: null, pc: null, local: null, nextId: 1, pending: new Map(),
  participantId: null, room: null, joined: false,
  slots: {}, slotsVersion: -1,     // mid -> {participantId, track}; pushes apply only if newer
  roster: [], rosterPushed: false, // a roster push is always newer than the one in `joined`
  session: null, sessionVersion: -1,
  names: new Map(),                // participantId -> last known name (rosters cover one room only)
  speaking: new Set(),             // participantIds speaking in this room (`speaking`)
  countdown: null,                 // {endsAt, timer} while rooms close (session.js)
  tiles: new Map(),                // video slot mid -> tile element
  players: new Map(),              // audio slot mid -> <audio>
  timing: {},                      // performance.now() marks, read by the e2e tests
};

// What to tell a person for each error code (docs/PROTOCOL.md "Error codes").
const ERROR_TEXT = {
  "token-expired": "This session link has expired. Ask your therapist for a new link.",
  "token-invalid": "This session link is not valid. Check that you opened the whole link.",
  "unauthorized": "This session link is not valid for this session. Ask your therapist for a new link.",
  "join-timeout": "Joining took too long. Reload the page to try again.",
  "session-full": "This session is full. Ask your therapist for help.",
  "room-full": "This room is full. Ask your therapist for help.",
  "invalid-offer": "Your browser could not set up audio and video with the server. Try a current Chrome, Firefox or Safari.",
  "missing-fingerprint": "Your browser could not set up a secure media connection. Try a current Chrome, Firefox or Safari.",
  "missing-ice-credentials": "Your browser could not set up a media connection. Try a current Chrome, Firefox or Safari.",
  // Refused session commands (docs/PROTOCOL.md "Session commands").
  "forbidden": "Only a host can do that.",
  "unknown-participant": "That participant is no longer in the session.",
  "unknown-room": "That room no longer exists.",
  "duplicate-room-name": "A room with that name exists already. Choose another name.",
  "wrong-room-state": "That is not possible right now: check whether the breakout rooms are open.",
  "rooms-closing": "The breakout rooms are closing. Try again when everyone is back.",
  "invalid-command": "That was not accepted: check the names, the text or the countdown (0 to 300 seconds).",
};
const GENERIC_ERROR = "Something went wrong on the server. Reload the page to try again.";
// Codes after which joining again with the same link cannot work.
const FATAL = new Set(["token-expired", "token-invalid", "unauthorized"]);

// Why the server removed us (`left.reason`).
const LEFT_TEXT = {
  "consent-expired": "The connection to the media server was lost. Join again to reconnect.",
  "media-closed": "The media connection was closed. Join again to reconnect.",
  "dtls-failed": "A secure media connection could not be set up. Join again to retry.",
  "removed": "A host removed you from the session.",
  "denied": "The host did not let you in to this session.",
  "session-ended": "The session has ended.",
};

class ServerError extends Error {
  constructor(code, detail) {
    super(ERROR_TEXT[code] || GENERIC_ERROR);
    this.code = code;
    this.detail = detail;
  }
}

function setStatus(text) { $("status").textContent = text; }

// One place for everything a person must read: a role="alert" region.
function showMessage(text) {
  const el = $("message");
  el.textContent = text;
  el.hidden = !text;
}

function claimsFromToken(t) {
  try { return JSON.parse(atob(t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); } catch { return {}; }
}

function request(message) {
  const id = String(state.nextId++);
  message.id = id;
  return new Promise((resolve, reject) => {
    state.pending.set(id, { resolve, reject });
    state.ws.send(JSON.stringify(message));
  });
}

function openSocket() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
    ws.onopen = () => { state.timing.wsOpen = performance.now(); resolve(ws); };
    ws.onerror = () => reject(new Error("Cannot reach the server. Check your connection and reload the page."));
    ws.onclose = (e) => onSocketClosed(ws, e);
    ws.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      if (msg && typeof msg === "object") onMessage(msg);
    };
  });
}

function onSocketClosed(ws, e) {
  if (ws !== state.ws) return;
  const failure = e.code === 1009 ? "The server refused a message that was too large." : "The connection to the server closed.";
  for (const p of state.pending.values()) p.reject(new Error(failure));
  state.pending.clear();
  if (state.joined) {
    state.joined = false;
    endCall();
    if ($("message").hidden) showMessage("You are disconnected from the session. Join again to reconnect.");
  }
  setStatus("Not connected");
}

function onMessage(msg) {
  if (msg.id && state.pending.has(msg.id)) {
    const p = state.pending.get(msg.id);
    state.pending.delete(msg.id);
    if (msg.type === "error") p.reject(new ServerError(msg.code, msg.message)); else p.resolve(msg);
    return;
  }
  switch (msg.type) {
    case "slots": applySlots(msg.map, msg.version); break;
    case "roster": state.rosterPushed = true; applyRoster(msg.participants); break;
    case "error":
      console.warn("cohort error", msg.code, msg.message);
      showMessage(ERROR_TEXT[msg.code] || GENERIC_ERROR);
      break;
    case "left":
      state.joined = false;
      endCall();
      showMessage(LEFT_TEXT[msg.reason] || "You have left the session.");
      break;
    case "session": applySession(msg); break;
    case "speaking": applySpeaking(msg.participants); break;
    case "broadcast": onBroadcast(msg); break;
    case "chat": onChat(msg); break;
  }
}

// `slots` pushes can overtake the `joined` reply, so a map is applied only if
// its version is newer than the one held (docs/PROTOCOL.md `slots`).
function applySlots(map, version) {
  if (typeof version === "number") {
    if (version <= state.slotsVersion) return;
    state.slotsVersion = version;
  }
  state.slots = map && typeof map === "object" ? map : {};
  render();
}

function applyRoster(participants) {
  state.roster = Array.isArray(participants) ? participants : [];
  for (const p of state.roster) if (p && p.participantId) state.names.set(p.participantId, p.name);
  render();
  renderSession();
}

function nameOf(participantId) {
  const entry = state.roster.find((p) => p.participantId === participantId);
  return entry ? entry.name : state.names.get(participantId) || "Participant";
}

function makeTile(mid, track) {
  const tile = document.createElement("figure");
  tile.className = "tile";
  tile.dataset.mid = mid;
  tile.hidden = true;
  const video = document.createElement("video");
  video.autoplay = true; video.playsInline = true; video.muted = true;
  video.srcObject = new MediaStream([track]);
  const label = document.createElement("figcaption");
  label.className = "label";
  tile.append(video, label);
  $("grid").append(tile);
  state.tiles.set(mid, tile);
  // A tile whose slot changed source stays dark until a frame of the new
  // source renders: one whose RTP timestamp is newer than the slot map's
  // `after` (docs/PROTOCOL.md `slots`), so the previous person's last frame
  // never shows under the new name. Frames are drawn at opacity 0 meanwhile,
  // so the browser keeps reporting them.
  if ("requestVideoFrameCallback" in video) {
    const onFrame = (_now, meta) => {
      if (tile.gate && fromNewSource(tile.gate, meta)) openTile(tile);
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }
}

// RFC 1982 serial order of 32-bit RTP timestamps: is `a` after `b`?
function isNewer(a, b) {
  const d = (a - b) >>> 0;
  return d !== 0 && d < 0x80000000;
}

// A browser that does not report RTP timestamps (rtpTimestamp undefined)
// opens the tile on the first frame after the switch.
function fromNewSource(gate, meta) {
  return gate.after === null || typeof meta.rtpTimestamp !== "number" || isNewer(meta.rtpTimestamp >>> 0, gate.after);
}

function openTile(tile) {
  tile.gate = null;
  tile.classList.remove("waiting");
}

function makePlayer(mid, track) {
  const audio = document.createElement("audio");
  audio.autoplay = true;
  audio.dataset.mid = mid;
  audio.srcObject = new MediaStream([track]);
  document.body.append(audio);
  state.players.set(mid, audio);
}

// Tiles show who fills each video slot now; an empty slot is hidden.
function render() {
  for (const [mid, tile] of state.tiles) {
    const source = state.slots[mid];
    const who = source && source.participantId;
    if ((who || "") !== tile.dataset.participant) {
      const after = source && typeof source.after === "number" ? source.after >>> 0 : null;
      tile.gate = who ? { after } : null;
      tile.classList.toggle("waiting", !!who);
      if (who && !("requestVideoFrameCallback" in HTMLVideoElement.prototype)) openTile(tile);
    }
    tile.hidden = !who;
    tile.dataset.participant = who || "";
    tile.classList.toggle("speaking", !!who && state.speaking.has(who));
    const name = who ? nameOf(who) : "";
    tile.querySelector(".label").textContent = source && source.track === "screen" ? `${name} (screen)` : name;
    tile.querySelector("video").setAttribute("aria-label", who ? `Video of ${name}` : "Empty");
  }
  const me = state.roster.find((p) => p.participantId === state.participantId);
  const self = document.querySelector(".tile.self .label");
  if (self && me) self.textContent = `${me.name} (you)`;
  const selfTile = document.querySelector(".tile.self");
  if (selfTile) selfTile.classList.toggle("speaking", state.speaking.has(state.participantId));
  const hands = (state.session && state.session.handsRaised) || [];
  $("roster").replaceChildren(...state.roster.map((p) => {
    const li = document.createElement("li");
    li.textContent = p.name + (p.role === "host" ? " (host)" : p.role === "co-host" ? " (co-host)" : "") +
      (p.participantId === state.participantId ? " (you)" : "") + (hands.includes(p.participantId) ? " (hand raised)" : "");
    return li;
  }));
}

async function localMedia() {
  if (!testTone) return navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  const stream = await navigator.mediaDevices.getUserMedia({ audio: false, video: { width: 640, height: 480 } });
  const context = new AudioContext({ sampleRate: 48000 });
  await context.resume();
  const osc = context.createOscillator();
  osc.frequency.value = testTone;
  const gain = context.createGain();
  gain.gain.value = 0.25;
  const sink = context.createMediaStreamDestination();
  osc.connect(gain).connect(sink);
  osc.start();
  stream.addTrack(sink.stream.getAudioTracks()[0]);
  return stream;
}

async function join() {
  state.timing = { joinClicked: performance.now() };
  $("join").disabled = true;
  showMessage("");
  try {
    setStatus("Starting camera and microphone…");
    state.local = await localMedia();
    const name = $("name").value.trim();
    const self = document.createElement("figure");
    self.className = "tile self";
    const v = document.createElement("video");
    v.autoplay = true; v.playsInline = true; v.muted = true; v.srcObject = state.local;
    v.setAttribute("aria-label", "Your camera");
    const label = document.createElement("figcaption");
    label.className = "label"; label.textContent = `${name || "You"} (you)`;
    self.append(v, label);
    $("grid").replaceChildren(self);

    const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
    state.pc = pc;
    const [audio] = state.local.getAudioTracks();
    const [video] = state.local.getVideoTracks();
    const add = (trackOrKind, kind, direction) => {
      const t = pc.addTransceiver(trackOrKind, direction === "recvonly" ? { direction } : { direction, streams: [state.local] });
      preferCohortCodecs(t, kind);
      return t;
    };
    add(audio || "audio", "audio", audio ? "sendonly" : "inactive");
    add(video || "video", "video", video ? "sendonly" : "inactive");
    const audioSlots = [], videoSlots = [];
    for (let i = 0; i < SLOTS; i++) audioSlots.push(add("audio", "audio", "recvonly"));
    for (let i = 0; i < SLOTS; i++) videoSlots.push(add("video", "video", "recvonly"));
    pc.onconnectionstatechange = () => {
      if (pc !== state.pc) return;
      if (pc.connectionState === "connected") { setStatus(`In the session (room ${state.room})`); renderSession(); }
      else if (pc.connectionState === "failed") showMessage("The media connection failed. Join again to retry.");
    };

    // The server is ICE-lite and never checks our candidates, so the offer
    // goes out at once instead of waiting for gathering (RFC 8445 §2.5).
    await pc.setLocalDescription(await pc.createOffer());
    for (const t of audioSlots) makePlayer(t.mid, t.receiver.track);
    for (const t of videoSlots) makeTile(t.mid, t.receiver.track);

    setStatus("Connecting…");
    state.ws = await openSocket();
    const joined = await request({ type: "join", token, name: name || undefined, sdp: pc.localDescription.sdp });
    state.timing.joined = performance.now();
    state.participantId = joined.participantId;
    state.room = joined.room;
    state.joined = true;
    if (!state.rosterPushed) state.roster = joined.roster || [];
    applySlots(joined.slots, typeof joined.slotsVersion === "number" ? joined.slotsVersion : undefined);
    await pc.setRemoteDescription({ type: "answer", sdp: joined.sdp });
    render();
    $("join-panel").hidden = true;
    $("call").hidden = false;
    setStatus("Connecting media…");
    renderSession();
  } catch (err) {
    console.warn("join failed", err.code || err.name || "", err.detail || err.message);
    if (state.ws) { state.ws.onclose = null; state.ws.close(); state.ws = null; }
    endCall();
    showMessage(describeJoinFailure(err));
    $("join").disabled = !token || (err instanceof ServerError && FATAL.has(err.code));
    setStatus("Not connected");
  }
}

function describeJoinFailure(err) {
  if (err instanceof ServerError) return err.message;
  if (err.name === "NotAllowedError") return "Cohort needs your camera and microphone. Allow them in the browser and join again.";
  if (err.name === "NotFoundError") return "No camera or microphone was found. Connect one and join again.";
  if (err.name === "NotReadableError") return "Your camera or microphone is in use by another program. Close it and join again.";
  return err.message || GENERIC_ERROR;
}

// Stops media and returns to the join panel; the socket is handled by the caller.
function endCall() {
  if (state.pc) { state.pc.close(); state.pc = null; }
  if (state.local) { state.local.getTracks().forEach((t) => t.stop()); state.local = null; }
  for (const a of state.players.values()) { a.srcObject = null; a.remove(); }
  state.players.clear();
  state.tiles.clear();
  $("grid").replaceChildren();
  state.slots = {}; state.slotsVersion = -1; state.roster = []; state.rosterPushed = false;
  state.session = null; state.sessionVersion = -1;
  state.speaking = new Set();
  stopCountdown();
  for (const id of ["chat-log", "announcements", "host-rooms", "host-waiting"]) $(id).replaceChildren();
  document.querySelector("#host-people tbody").replaceChildren();
  $("host-panel").hidden = true;
  $("room-name").textContent = "";
  $("listening-notice").hidden = true;
  $("muted-notice").hidden = true;
  $("call").hidden = true;
  $("join-panel").hidden = false;
  $("join").disabled = !token;
  $("mic").setAttribute("aria-pressed", "false");
  $("cam").setAttribute("aria-pressed", "false");
}

async function leave() {
  try { if (state.joined) await request({ type: "leave" }); } catch {}
  state.joined = false;
  if (state.ws) { state.ws.onclose = null; state.ws.close(1000, "left"); state.ws = null; }
  endCall();
  showMessage("You left the session.");
  setStatus("Not connected");
}

// Toggle buttons keep their label; aria-pressed says whether muting is on.
function toggle(kind, button) {
  if (!state.local) return;
  const track = kind === "audio" ? state.local.getAudioTracks()[0] : state.local.getVideoTracks()[0];
  if (!track) return;
  track.enabled = !track.enabled;
  button.setAttribute("aria-pressed", String(!track.enabled));
}

$("mic").onclick = () => toggle("audio", $("mic"));
$("cam").onclick = () => toggle("video", $("cam"));
$("leave").onclick = leave;
$("join").onclick = join;
$("name").value = claimsFromToken(token || "").name || "";
if (!token) {
  showMessage("This link has no session token. Ask your therapist for your session link.");
  $("join").disabled = true;
}
// For the end-to-end tests (Tests/e2e/test_call_chromium.py): state and timing
// are read, onMessage is fed synthetic server messages; request sends one.
window.cohort = { state, join, leave, onMessage, request };
