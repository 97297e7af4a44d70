// Session features for everyone (docs/PROTOCOL.md "session", "speaking",
// "broadcast, chat"): the room one is in, a host listening in, a host's
// mute, the close countdown, raised hands, room chat, host broadcasts and
// who is speaking. An ES module imported by app.js: it only defines
// functions; app.js calls them on the client's events and calls
// wireSessionControls() once. Chat and broadcasts live only in the page:
// nothing is ever stored.
import { state, $, request, showMessage, errorText, setStatus, render, nameOf } from "./app.js";
import { renderHostPanel } from "./host.js";

// Sends a session command; a refusal is shown plainly and yields null.
export async function command(message) {
  try {
    const reply = await request(message);
    showMessage("");
    return reply;
  } catch (err) {
    console.warn("command refused", message.type, err.code || "", err.detail || err.message);
    showMessage(errorText(err));
    return null;
  }
}

// `waiting` entries are roster entries ({participantId, name, ...}); plain
// ids are accepted too.
export function waitingEntries(msg) {
  return (Array.isArray(msg.waiting) ? msg.waiting : [])
    .map((w) => (typeof w === "string" ? { participantId: w } : w))
    .filter((w) => w && typeof w.participantId === "string");
}

export function roomOf(participantId) {
  const rooms = (state.session && state.session.rooms) || [];
  return rooms.find((r) => Array.isArray(r.members) && r.members.includes(participantId)) || null;
}

// The session's shape, sent whole with a growing version (the client keeps
// the newest). It may arrive before `joined`, so renderSession() runs again
// after joining.
export function onSession(msg) {
  for (const w of waitingEntries(msg)) if (w.name) state.names.set(w.participantId, w.name);
  renderSession();
  render();
}

export function renderSession() {
  renderHostPanel();
  const msg = state.session, me = state.participantId;
  if (!msg || !me) return;
  if (waitingEntries(msg).some((w) => w.participantId === me)) {
    setStatus("Waiting for the host to let you in…");
    $("room-name").textContent = "You are in the waiting room. The host will let you in.";
    return;
  }
  const room = roomOf(me);
  if (room) {
    setStatus(`In ${room.name || room.id}`);
    $("room-name").textContent = `Room: ${room.name || room.id}`;
  }
  $("listening-notice").hidden = !(room && (room.listeners || []).some((id) => id !== me));
  $("muted-notice").hidden = !(msg.muted || []).includes(me);
  const raised = (msg.handsRaised || []).includes(me);
  $("hand").setAttribute("aria-pressed", String(raised));
  $("hand").textContent = raised ? "Lower hand" : "Raise hand";
  startCountdown(msg.closingInSeconds);
}

// The server says `closingInSeconds` once per session change; the page
// counts down on its own clock. A later session (a raised hand, say) repeats
// the same countdown, rounded up, so only a real change restarts it.
function startCountdown(seconds) {
  if (typeof seconds !== "number") { stopCountdown(); return; }
  const endsAt = performance.now() + seconds * 1000;
  if (state.countdown && Math.abs(endsAt - state.countdown.endsAt) < 1500) return;
  stopCountdown();
  const tick = () => {
    const left = Math.max(0, Math.ceil((state.countdown.endsAt - performance.now()) / 1000));
    $("countdown").textContent = left > 0 ? `Breakout rooms close in ${left} s.` : "Breakout rooms are closing…";
    $("countdown").dataset.seconds = String(left);
  };
  state.countdown = { endsAt, timer: setInterval(tick, 250) };
  tick();
  $("countdown").hidden = false;
  announce(`Breakout rooms close in ${seconds} seconds.`);
}

export function stopCountdown() {
  if (state.countdown) clearInterval(state.countdown.timer);
  state.countdown = null;
  $("countdown").hidden = true;
  $("countdown").textContent = "";
  delete $("countdown").dataset.seconds;
}

// One line in the announcements list (aria-live), newest last.
function announce(text) {
  const li = document.createElement("li");
  li.textContent = text;
  $("announcements").append(li);
}

export function onBroadcast(msg) {
  if (typeof msg.text === "string") announce(`Message from ${msg.from || "the host"}: ${msg.text}`);
}

export function onChat(msg) {
  if (typeof msg.text !== "string") return;
  const li = document.createElement("li");
  li.textContent = `${msg.name || nameOf(msg.from)}: ${msg.text}`;
  $("chat-log").append(li);
}

export function onSpeaking(ids) {
  state.speaking = new Set(ids);
  render();
}

// The hand button and the chat form.
export function wireSessionControls() {
  $("hand").onclick = () => command({ type: "hand", raised: $("hand").getAttribute("aria-pressed") !== "true" });
  $("chat-form").onsubmit = async (e) => {
    e.preventDefault();
    const text = $("chat-text").value.trim();
    if (text && await command({ type: "chat", text })) $("chat-text").value = "";
  };
}
