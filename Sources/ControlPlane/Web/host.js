// Host panel (docs/PROTOCOL.md "Session commands"), shown only to hosts and
// co-hosts: breakout rooms (create, assign, open, move, close with a
// countdown), listening in, joining a room, mute and remove, the waiting
// room, broadcasts and ending the session. Drawn from the latest `session`
// message; every control sends one command and the server's next `session`
// redraws the panel. An ES module imported by app.js: it only defines
// functions; app.js calls wireHostPanel() once.
//
// Rooms are columns and people cards. A card moves to another room by drag
// and drop, by its "Move to" select, or by keyboard (focus the card, arrow
// keys choose a room, Enter moves, Escape cancels). Before the rooms open a
// move plans (`assign`); once they are open it moves at once (`move`).
import { state, $, token, claimsFromToken, nameOf, announce } from "./app.js";
import { command, waitingEntries, roomOf } from "./session.js";

function isHost() {
  const me = state.roster.find((p) => p.participantId === state.participantId);
  const role = me ? me.role : claimsFromToken(token || "").role;
  return role === "host" || role === "co-host";
}

function button(text, action, data, extra = {}) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.dataset.action = action;
  Object.assign(b.dataset, data);
  for (const [k, v] of Object.entries(extra)) b.setAttribute(k, v);
  return b;
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

// What the panel was drawn from, for the handlers between two `session`s.
const view = {
  rooms: [],          // [{id, name}], main first
  placement: {},      // participantId -> room id of its card
  movable: false,     // breakout rooms exist and are not closing
  open: false,
  pending: null,      // {participant, room}: a keyboard move being chosen
  openedAt: null,     // performance.now() when the rooms opened (from `openForSeconds`)
  closesAt: null,     // performance.now() when they close (from `closingInSeconds`)
};

function roomName(id) {
  const r = view.rooms.find((x) => x.id === id);
  return r ? r.name || r.id : id;
}

// `openForSeconds` and `closingInSeconds` are whole seconds on the server's
// clock when the message was made; the panel counts on from its arrival.
// Every `session` repeats them, so only a change beyond rounding restarts
// a count.
function since(previous, at) {
  return previous !== null && Math.abs(at - previous) <= 1500 ? previous : at;
}
function trackTimes(msg) {
  const now = performance.now();
  view.openedAt = msg.breakoutsOpen && typeof msg.openForSeconds === "number" ? since(view.openedAt, now - msg.openForSeconds * 1000) : null;
  view.closesAt = typeof msg.closingInSeconds === "number" ? since(view.closesAt, now + msg.closingInSeconds * 1000) : null;
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// The per-room timers: how long the breakout rooms have been open, or the
// close countdown.
function updateTimers() {
  const now = performance.now();
  for (const t of document.querySelectorAll("#host-rooms .room-timer")) {
    if (view.closesAt !== null) {
      const left = Math.max(0, Math.ceil((view.closesAt - now) / 1000));
      t.textContent = left > 0 ? `Closes in ${clock(left)}` : "Closing…";
      t.dataset.closingSeconds = String(left);
      delete t.dataset.openSeconds;
    } else if (view.openedAt !== null) {
      const open = Math.floor((now - view.openedAt) / 1000);
      t.textContent = `Open for ${clock(open)}`;
      t.dataset.openSeconds = String(open);
      delete t.dataset.closingSeconds;
    } else {
      t.textContent = "Not open yet";
      delete t.dataset.openSeconds;
      delete t.dataset.closingSeconds;
    }
  }
}

// Which control in the room columns has focus, to give it back after a
// redraw (every `session` redraws them; a moved card keeps its focus).
function focusKey() {
  const a = document.activeElement;
  if (!a || !$("host-rooms").contains(a)) return null;
  const card = a.closest(".card"), column = a.closest(".room-column");
  return { participant: card && card.dataset.participant, room: column && column.dataset.room,
           action: a.classList.contains("card") ? "card" : a.dataset.action || a.tagName };
}

function restoreFocus(key) {
  if (!key) return;
  let target = null;
  if (key.participant) {
    const card = $("host-rooms").querySelector(`.card[data-participant="${CSS.escape(key.participant)}"]`);
    if (card) target = key.action === "card" ? card : card.querySelector(`[data-action="${key.action}"]`) || card;
  } else if (key.room) {
    const column = $("host-rooms").querySelector(`.room-column[data-room="${CSS.escape(key.room)}"]`);
    if (column) target = column.querySelector(`[data-action="${key.action}"]:not(:disabled)`) || column.querySelector("h4");
  }
  if (target) target.focus();
}

function personCard(id, where, { muted, hand, me, movable }) {
  const card = el("li", "card");
  card.dataset.participant = id;
  const name = nameOf(id);
  card.append(el("span", "card-name", me ? `${name} (you)` : name));
  if (hand) card.append(el("span", "tag hand", "Hand raised"));
  if (muted) card.append(el("span", "tag muted", "Muted"));
  if (me) return card;
  card.tabIndex = 0;
  card.draggable = movable;
  card.setAttribute("aria-label", `${name}, in ${roomName(where)}`);
  if (movable) card.setAttribute("aria-describedby", "move-help");
  if (view.pending && view.pending.participant === id) {
    card.classList.add("picking");
    card.append(el("span", "pending", `Move to ${roomName(view.pending.room)}? Enter moves, Escape cancels.`));
  }
  const label = el("label", "move-to");
  const select = document.createElement("select");
  select.dataset.participant = id;
  select.dataset.action = "move-to";
  select.setAttribute("aria-label", `Room for ${name}`);
  for (const r of view.rooms) select.append(new Option(r.id === "main" && !view.open ? "Main room (not assigned)" : r.name || r.id, r.id));
  select.value = where;
  select.disabled = !movable;
  label.append("Move to ", select);
  const actions = el("div", "card-actions");
  actions.append(
    button(muted ? "Unmute" : "Mute", "mute", { participant: id, muted: String(!muted) }, { "aria-label": `${muted ? "Unmute" : "Mute"} ${name}` }),
    button("Remove", "remove", { participant: id }, { "aria-label": `Remove ${name}`, class: "danger" }));
  card.append(label, actions);
  return card;
}

export function renderHostPanel() {
  const panel = $("host-panel"), msg = state.session, me = state.participantId;
  panel.hidden = !(state.joined && isHost());
  if (panel.hidden && $("remove-dialog").open) $("remove-dialog").close();
  if (panel.hidden || !msg) return;
  const rooms = Array.isArray(msg.rooms) ? msg.rooms : [];
  const breakouts = rooms.filter((r) => r.id !== "main");
  const open = !!msg.breakoutsOpen, closing = typeof msg.closingInSeconds === "number";
  const hands = msg.handsRaised || [], muted = msg.muted || [], assignments = msg.assignments || {};
  const myRoom = roomOf(me);
  $("create-form").querySelector("button").disabled = open || closing;
  $("balance").disabled = !breakouts.length || closing;
  $("open-rooms").disabled = open || !breakouts.length || closing;
  $("close-rooms").disabled = !open || closing;
  trackTimes(msg);

  view.rooms = rooms.map((r) => ({ id: r.id, name: r.name || r.id }));
  view.open = open;
  view.movable = !closing && breakouts.length > 0;
  // A card sits where the person is (rooms open) or is planned to go
  // (closed: everyone is in `main`, the columns show the plan).
  view.placement = {};
  for (const r of rooms) {
    for (const id of r.members || []) {
      view.placement[id] = id === me || open ? r.id : assignments[id] && rooms.some((x) => x.id === assignments[id]) ? assignments[id] : "main";
    }
  }
  if (view.pending && (!view.movable || !(view.pending.participant in view.placement))) view.pending = null;

  const listeningTo = rooms.find((r) => (r.listeners || []).includes(me));
  const line = $("listening-line");
  line.textContent = listeningTo ? `Listening to ${listeningTo.name || listeningTo.id}` : "Not listening in: you hear your own room only.";
  line.classList.toggle("on", !!listeningTo);

  const focus = focusKey();
  $("host-rooms").replaceChildren(...rooms.map((r) => {
    const column = el("div", "room-column");
    column.dataset.room = r.id;
    column.setAttribute("role", "group");
    column.setAttribute("aria-labelledby", `room-title-${r.id}`);
    const title = el("h4", null, r.name || r.id);
    title.id = `room-title-${r.id}`;
    title.tabIndex = -1;
    column.append(title);
    const ids = Object.keys(view.placement).filter((id) => view.placement[id] === r.id);
    const meta = el("p", "room-meta");
    meta.append(el("span", "room-size", ids.length === 1 ? "1 person" : `${ids.length} people`));
    if (r.id !== "main") {
      const timer = el("span", "room-timer");
      timer.setAttribute("role", "timer");
      meta.append(" · ", timer);
    }
    column.append(meta);
    const listening = !!listeningTo && listeningTo.id === r.id;
    column.classList.toggle("listening", listening);
    column.classList.toggle("drop-target", !!view.pending && view.pending.room === r.id);
    const actions = el("div", "room-actions");
    if (myRoom && myRoom.id === r.id) {
      actions.append(el("span", "tag here", "You are here"));
    } else {
      const listen = button("Listen in", "listen", { room: r.id }, { "aria-pressed": String(listening), "aria-label": `Listen in to ${r.name || r.id}` });
      const enter = button("Join room", "join-room", { room: r.id }, { "aria-label": `Join ${r.name || r.id}` });
      enter.disabled = closing || (r.id !== "main" && !open);
      actions.append(listen, enter);
      if (listening) actions.append(el("span", "tag on", "Listening"));
    }
    column.append(actions);
    const list = el("ul", "cards");
    list.setAttribute("aria-label", `People in ${r.name || r.id}`);
    list.append(...ids.map((id) => personCard(id, r.id, { muted: muted.includes(id), hand: hands.includes(id), me: id === me, movable: view.movable })));
    column.append(list);
    if (!ids.length) column.append(el("p", "empty", view.movable ? "Nobody here. Drag someone in." : "Nobody here."));
    return column;
  }));
  restoreFocus(focus);
  updateTimers();

  $("host-waiting").replaceChildren(...waitingEntries(msg).map((w) => {
    const li = document.createElement("li");
    li.dataset.participant = w.participantId;
    li.append(nameOf(w.participantId), " ",
      button("Admit", "admit", { participant: w.participantId }, { "aria-label": `Admit ${nameOf(w.participantId)}` }), " ",
      button("Deny", "deny", { participant: w.participantId }, { "aria-label": `Deny ${nameOf(w.participantId)}` }));
    return li;
  }));
  // A list holds only items (axe-core's "list" rule), so "nobody" is one too.
  if (!$("host-waiting").children.length) $("host-waiting").append(el("li", "empty", "Nobody is waiting."));

  // Removal sticks until a host lets the person back (docs/PROTOCOL.md, `unban`).
  const removed = Array.isArray(msg.removed) ? msg.removed : [];
  $("host-removed").replaceChildren(...removed.map((r) => {
    const li = document.createElement("li");
    li.dataset.participant = r.participantId;
    li.append(r.name || "Participant", " ",
      button("Let back in", "unban", { participant: r.participantId }, { "aria-label": `Let ${r.name || "this person"} join again` }));
    return li;
  }));
  $("host-removed-section").hidden = !removed.length;
}

// One move, however it was asked for: plans before the rooms open, moves
// after; the live region says what happened.
async function moveTo(id, room) {
  if (!view.movable || !(id in view.placement) || view.placement[id] === room) return;
  const name = nameOf(id), where = roomName(room);
  if (view.open) {
    if (await command({ type: "move", participantId: id, room })) announce(`${name} moved to ${where}.`);
  } else if (await command({ type: "assign", assignments: { [id]: room } })) {
    announce(room === "main" ? `${name} stays in the main room when the rooms open.` : `${name} will go to ${where} when the rooms open.`);
  }
}

// Keyboard moves on a focused card: arrows choose the room, Enter moves.
function onCardKey(e) {
  const card = e.target;
  if (!card.classList || !card.classList.contains("card") || !card.draggable) return;
  const id = card.dataset.participant;
  const ids = view.rooms.map((r) => r.id);
  const from = view.pending && view.pending.participant === id ? view.pending.room : view.placement[id];
  const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
  if (step) {
    e.preventDefault();
    const room = ids[(ids.indexOf(from) + step + ids.length) % ids.length];
    view.pending = { participant: id, room };
    announce(room === view.placement[id] ? `${nameOf(id)} stays in ${roomName(room)}.` : `Move ${nameOf(id)} to ${roomName(room)}? Press Enter to move, Escape to cancel.`);
    renderHostPanel();
  } else if (e.key === "Enter" && view.pending && view.pending.participant === id) {
    e.preventDefault();
    const { room } = view.pending;
    view.pending = null;
    renderHostPanel();
    moveTo(id, room);
  } else if (e.key === "Escape" && view.pending) {
    e.preventDefault();
    view.pending = null;
    announce(`Move cancelled; ${nameOf(id)} stays in ${roomName(view.placement[id])}.`);
    renderHostPanel();
  }
}

// Drag and drop (mouse): a card onto a column.
function wireDragAndDrop(columns) {
  let dragged = null;
  columns.addEventListener("dragstart", (e) => {
    const card = e.target.closest && e.target.closest(".card[draggable='true']");
    if (!card) return;
    dragged = card.dataset.participant;
    e.dataTransfer.setData("text/plain", dragged);
    e.dataTransfer.effectAllowed = "move";
    card.classList.add("dragging");
  });
  columns.addEventListener("dragend", (e) => {
    dragged = null;
    if (e.target.classList) e.target.classList.remove("dragging");
    for (const c of columns.querySelectorAll(".room-column.drop-target")) c.classList.remove("drop-target");
  });
  columns.addEventListener("dragover", (e) => {
    const column = e.target.closest && e.target.closest(".room-column");
    if (!column || !dragged || !view.movable) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    for (const c of columns.querySelectorAll(".room-column.drop-target")) if (c !== column) c.classList.remove("drop-target");
    column.classList.add("drop-target");
  });
  columns.addEventListener("drop", (e) => {
    const column = e.target.closest && e.target.closest(".room-column");
    if (!column) return;
    e.preventDefault();
    column.classList.remove("drop-target");
    const id = e.dataTransfer.getData("text/plain") || dragged;
    dragged = null;
    if (id) moveTo(id, column.dataset.room);
  });
}

// Remove asks first, in a modal <dialog> (Cancel has focus; Escape cancels).
function askRemove(id) {
  const dialog = $("remove-dialog");
  dialog.dataset.participant = id;
  $("remove-title").textContent = `Remove ${nameOf(id)}?`;
  dialog.returnValue = "";
  dialog.showModal();
  $("remove-cancel").focus();
}

// One handler for every control the panel draws, and its forms.
export function wireHostPanel() {
  $("host-panel").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-action]");
    if (!b) return;
    const { action, participant, room } = b.dataset;
    switch (action) {
      case "listen": command({ type: "listen", room: b.getAttribute("aria-pressed") === "true" ? null : room }); break;
      case "join-room": command({ type: "join-room", room }); break;
      case "mute": command({ type: "mute", participantId: participant, muted: b.dataset.muted === "true" }); break;
      case "remove": askRemove(participant); break;
      case "admit": command({ type: "admit", participantId: participant }); break;
      case "deny": command({ type: "deny", participantId: participant }); break;
      case "unban": command({ type: "unban", participantId: participant }); break;
    }
  });
  $("remove-dialog").addEventListener("close", () => {
    const dialog = $("remove-dialog"), id = dialog.dataset.participant;
    delete dialog.dataset.participant;
    if (dialog.returnValue === "remove" && id) command({ type: "remove", participantId: id });
  });

  const columns = $("host-rooms");
  columns.addEventListener("change", (e) => {
    const select = e.target.closest("select[data-action='move-to']");
    if (select) moveTo(select.dataset.participant, select.value);
  });
  columns.addEventListener("keydown", onCardKey);
  wireDragAndDrop(columns);
  setInterval(() => { if (!$("host-panel").hidden) updateTimers(); }, 250);

  // N rooms; names from the comma-separated list, the rest "Room k".
  $("create-form").onsubmit = (e) => {
    e.preventDefault();
    const given = $("room-names").value.split(",").map((n) => n.trim()).filter(Boolean);
    const count = Math.max(given.length, Number($("room-count").value) || 0);
    const existing = ((state.session && state.session.rooms) || []).length - 1;
    const names = [];
    for (let i = 0; i < count; i++) names.push(given[i] || `Room ${existing + i + 1}`);
    if (names.length) command({ type: "create-rooms", names });
  };
  $("balance").onclick = () => command({ type: "assign", balanced: true });
  $("open-rooms").onclick = () => command({ type: "open-rooms" });
  $("close-rooms").onclick = () => command({ type: "close-rooms", countdown: Number($("countdown-seconds").value) || 0 });
  $("end-session").onclick = () => {
    if (confirm("End the session for everyone?")) command({ type: "end-session" });
  };
  $("broadcast-form").onsubmit = async (e) => {
    e.preventDefault();
    const text = $("broadcast-text").value.trim();
    if (text && await command({ type: "broadcast", text })) $("broadcast-text").value = "";
  };
}
