// Session features for everyone (docs/PROTOCOL.md "session", "speaking",
// "broadcast, chat"): the room one is in, a host listening in, a host's
// mute, the close countdown, raised hands, room chat, host broadcasts and
// who is speaking. An ES module imported by app.js: it only defines
// functions; app.js calls them on the client's events and calls
// wireSessionControls() once. Chat and broadcasts live only in the page:
// nothing is ever stored.
import { state, $, request, showMessage, errorText, setStatus, render, nameOf, announce, updateScreen } from "./app.js";
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
  updateScreen();
  const msg = state.session, me = state.participantId;
  if (!msg || !me) return;
  if (waitingEntries(msg).some((w) => w.participantId === me)) {
    setStatus("Waiting for the host to let you in…");
    return;
  }
  const room = roomOf(me);
  if (room) {
    setStatus(`In ${room.name || room.id}`);
    $("room-name").textContent = `Room: ${room.name || room.id}`;
    // A move (a breakout opening or closing, a host's move): say where one is now.
    if (state.announcedRoom && state.announcedRoom !== room.id) announce(`You are now in ${room.name || room.id}.`);
    state.announcedRoom = room.id;
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
  addAnnouncement(`Breakout rooms close in ${seconds} seconds.`);
}

export function stopCountdown() {
  if (state.countdown) clearInterval(state.countdown.timer);
  state.countdown = null;
  $("countdown").hidden = true;
  $("countdown").textContent = "";
  delete $("countdown").dataset.seconds;
}

// One banner in the announcements list, newest last, with a button that
// dismisses it; the live region reads it out.
function addAnnouncement(text) {
  const li = document.createElement("li");
  const span = document.createElement("span");
  span.textContent = text;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "dismiss";
  close.textContent = "Dismiss";
  close.setAttribute("aria-label", "Dismiss this message");
  close.onclick = () => li.remove();
  li.append(span, close);
  $("announcements").append(li);
  announce(text);
}

export function onBroadcast(msg) {
  if (typeof msg.text === "string") addAnnouncement(`Message from ${msg.from || "the host"}: ${msg.text}`);
}

// Chat: the log, an unread count on the Chat button while the panel is
// closed, and the live region (someone else's lines only).
export function onChat(msg) {
  if (typeof msg.text !== "string") return;
  const li = document.createElement("li");
  const who = msg.name || nameOf(msg.from);
  li.textContent = `${who}: ${msg.text}`;
  $("chat-log").append(li);
  if (msg.from === state.participantId) return;
  if ($("chat-panel").hidden) {
    state.unreadChat = (state.unreadChat || 0) + 1;
    showUnread();
  }
  announce(`Chat from ${who}: ${msg.text}`);
}

function showUnread() {
  const n = state.unreadChat || 0, badge = $("chat-unread");
  badge.textContent = n ? String(n) : "";
  badge.hidden = !n;
  $("chat-toggle").setAttribute("aria-label", n ? `Chat, ${n} unread` : "Chat");
}

export function resetChat() {
  state.unreadChat = 0;
  state.announcedRoom = null;
  showUnread();
}

function setChatOpen(open) {
  $("chat-panel").hidden = !open;
  $("chat-toggle").setAttribute("aria-expanded", String(open));
  if (open) {
    state.unreadChat = 0;
    showUnread();
    $("chat-text").focus();
  }
}

export function onSpeaking(ids) {
  state.speaking = new Set(ids);
  render();
}

// The hand button and the chat form.
export function wireSessionControls() {
  $("chat-toggle").onclick = () => setChatOpen($("chat-panel").hidden);
  $("hand").onclick = () => command({ type: "hand", raised: $("hand").getAttribute("aria-pressed") !== "true" });
  $("chat-form").onsubmit = async (e) => {
    e.preventDefault();
    const text = $("chat-text").value.trim();
    if (text && await command({ type: "chat", text })) $("chat-text").value = "";
  };
}
