// Cohort web client: no build step. Joins with the token from the link,
// negotiates once (own tracks plus fixed receive slots), then follows the
// server's slot map to label tiles. See docs/PROTOCOL.md.
"use strict";

const SLOTS = 4;
const params = new URLSearchParams(location.search);
const token = params.get("token");
const $ = (id) => document.getElementById(id);

const state = {
  ws: null, pc: null, local: null, nextId: 1, pending: new Map(),
  participantId: null, slots: [], roster: [], tiles: new Map(),
};

function setStatus(text) { $("status").textContent = text; }

function claimsFromToken(t) {
  try { return JSON.parse(atob(t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); } catch { return {}; }
}

function request(message) {
  const id = String(state.nextId++);
  message.id = id;
  state.ws.send(JSON.stringify(message));
  return new Promise((resolve, reject) => state.pending.set(id, { resolve, reject }));
}

function openSocket() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error("could not reach the server"));
    ws.onclose = (e) => { setStatus(`Disconnected${e.reason ? ": " + e.reason : ""}`); };
    ws.onmessage = (e) => onMessage(JSON.parse(e.data));
  });
}

function onMessage(msg) {
  if (msg.id && state.pending.has(msg.id)) {
    const p = state.pending.get(msg.id);
    state.pending.delete(msg.id);
    if (msg.type === "error") p.reject(new Error(`${msg.code}: ${msg.message}`)); else p.resolve(msg);
    return;
  }
  switch (msg.type) {
    case "slots": state.slots = msg.slots; renderSlots(); break;
    case "roster": state.roster = msg.participants; renderRoster(); break;
    case "error": setStatus(`Error: ${msg.code}`); break;
    case "removed": setStatus(`Removed from the session${msg.reason ? ": " + msg.reason : ""}`); hangUp(); break;
    default: document.dispatchEvent(new CustomEvent("cohort-message", { detail: msg }));
  }
}

function tileFor(mid) {
  let tile = state.tiles.get(mid);
  if (!tile) {
    tile = document.createElement("div");
    tile.className = "tile";
    tile.dataset.mid = mid;
    tile.hidden = true;
    const video = document.createElement("video");
    video.autoplay = true; video.playsInline = true; video.muted = true;
    const label = document.createElement("span");
    label.className = "label";
    tile.append(video, label);
    $("grid").append(tile);
    state.tiles.set(mid, tile);
  }
  return tile;
}

function renderSlots() {
  for (const slot of state.slots) {
    if (slot.kind !== "video") continue;
    const tile = tileFor(slot.mid);
    tile.hidden = !slot.participantId;
    tile.querySelector(".label").textContent = slot.name || "";
    tile.dataset.participant = slot.participantId || "";
  }
}

function renderRoster() {
  const ul = $("roster");
  ul.replaceChildren(...state.roster.map((p) => {
    const li = document.createElement("li");
    li.textContent = p.name + (p.role === "host" ? " (host)" : p.role === "co-host" ? " (co-host)" : "") +
      (p.participantId === state.participantId ? " — you" : "");
    return li;
  }));
}

async function join() {
  $("join").disabled = true;
  $("join-error").hidden = true;
  try {
    setStatus("Starting camera and microphone…");
    state.local = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
    const self = document.createElement("div");
    self.className = "tile self";
    const v = document.createElement("video");
    v.autoplay = true; v.playsInline = true; v.muted = true; v.srcObject = state.local;
    const label = document.createElement("span");
    label.className = "label"; label.textContent = `${$("name").value || "You"} (you)`;
    self.append(v, label);
    $("grid").append(self);

    const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
    state.pc = pc;
    const [audio] = state.local.getAudioTracks();
    const [video] = state.local.getVideoTracks();
    pc.addTransceiver(audio, { direction: "sendonly", streams: [state.local] });
    pc.addTransceiver(video, { direction: "sendonly", streams: [state.local] });
    for (let i = 0; i < SLOTS; i++) pc.addTransceiver("audio", { direction: "recvonly" });
    for (let i = 0; i < SLOTS; i++) pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (e) => {
      const mid = e.transceiver.mid;
      if (e.track.kind === "video") {
        tileFor(mid).querySelector("video").srcObject = new MediaStream([e.track]);
      } else {
        const a = new Audio();
        a.autoplay = true;
        a.srcObject = new MediaStream([e.track]);
        a.dataset.mid = mid;
        document.body.append(a);
      }
    };
    pc.onconnectionstatechange = () => setStatus(`Media: ${pc.connectionState}`);

    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);

    setStatus("Connecting…");
    state.ws = await openSocket();
    const joined = await request({ type: "join", token, name: $("name").value || undefined, sdp: pc.localDescription.sdp });
    state.participantId = joined.participantId;
    state.slots = joined.slots; state.roster = joined.roster;
    await pc.setRemoteDescription({ type: "answer", sdp: joined.sdp });
    renderSlots(); renderRoster();
    $("join-panel").hidden = true;
    $("call").hidden = false;
    setStatus(`In room ${joined.room}`);
    document.dispatchEvent(new CustomEvent("cohort-joined", { detail: joined }));
  } catch (err) {
    $("join-error").textContent = err.message;
    $("join-error").hidden = false;
    $("join").disabled = false;
    hangUp();
  }
}

function hangUp() {
  if (state.pc) { state.pc.close(); state.pc = null; }
  if (state.local) { state.local.getTracks().forEach((t) => t.stop()); state.local = null; }
}

function toggle(kind, button, onText, offText) {
  if (!state.local) return;
  const track = kind === "audio" ? state.local.getAudioTracks()[0] : state.local.getVideoTracks()[0];
  track.enabled = !track.enabled;
  button.textContent = track.enabled ? onText : offText;
  button.setAttribute("aria-pressed", String(track.enabled));
}

$("mic").onclick = () => toggle("audio", $("mic"), "Mute microphone", "Unmute microphone");
$("cam").onclick = () => toggle("video", $("cam"), "Stop camera", "Start camera");
$("leave").onclick = async () => {
  try { await request({ type: "leave" }); } catch {}
  hangUp();
  if (state.ws) state.ws.close(1000, "left");
  setStatus("You left the session");
  $("call").hidden = true;
};
$("join").onclick = join;
$("name").value = claimsFromToken(token || "").name || "";
if (!token) {
  $("join-error").textContent = "This link has no token. Ask your therapist for your session link.";
  $("join-error").hidden = false;
  $("join").disabled = true;
}
window.cohort = { state, join, request };
