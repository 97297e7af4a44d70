// Host panel (docs/PROTOCOL.md "Session commands"), shown only to hosts and
// co-hosts: breakout rooms (create, assign, open, move, close with a
// countdown), listening in, joining a room, mute and remove, the waiting
// room, broadcasts and ending the session. Drawn from the latest `session`
// message; every button sends one command and the server's next `session`
// redraws the panel. An ES module imported by app.js: it only defines
// functions; app.js calls wireHostPanel() once.
import { state, $, token, claimsFromToken, nameOf } from "./app.js";
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

export function renderHostPanel() {
  const panel = $("host-panel"), msg = state.session, me = state.participantId;
  panel.hidden = !(state.joined && isHost());
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

  $("host-rooms").replaceChildren(...rooms.map((r) => {
    const li = document.createElement("li");
    li.dataset.room = r.id;
    const members = (r.members || []).map(nameOf);
    const title = document.createElement("strong");
    title.textContent = r.name || r.id;
    const who = document.createElement("span");
    who.className = "members";
    who.textContent = members.length ? `: ${members.join(", ")}` : ": empty";
    li.append(title, who, " ");
    const listening = (r.listeners || []).includes(me);
    if (myRoom && myRoom.id === r.id) {
      li.append("(you are here)");
    } else {
      li.append(listening
        ? button("Stop listening", "listen", { room: "" }, { "aria-label": `Stop listening to ${r.name}` })
        : button("Listen in", "listen", { room: r.id }, { "aria-label": `Listen in to ${r.name}` }));
      const enter = button("Join room", "join-room", { room: r.id }, { "aria-label": `Join ${r.name}` });
      enter.disabled = closing || (r.id !== "main" && !open);
      li.append(" ", enter);
    }
    return li;
  }));

  // Everyone but oneself, in room order; the select plans (closed) or moves (open).
  const people = rooms.flatMap((r) => (r.members || []).map((id) => ({ id, room: r.id }))).filter((p) => p.id !== me);
  document.querySelector("#host-people tbody").replaceChildren(...people.map(({ id, room }) => {
    const tr = document.createElement("tr");
    tr.dataset.participant = id;
    const name = document.createElement("td");
    name.textContent = nameOf(id) + (hands.includes(id) ? " (hand raised)" : "") + (muted.includes(id) ? " (muted)" : "");
    const where = document.createElement("td");
    const select = document.createElement("select");
    select.dataset.participant = id;
    select.setAttribute("aria-label", `Room for ${nameOf(id)}`);
    for (const r of open ? rooms : [{ id: "main", name: "Main room (not assigned)" }, ...breakouts]) {
      select.append(new Option(r.name || r.id, r.id));
    }
    select.value = open ? room : assignments[id] || "main";
    select.disabled = closing || !breakouts.length;
    where.append(select);
    const actions = document.createElement("td");
    const isMuted = muted.includes(id);
    actions.append(
      button(isMuted ? "Unmute" : "Mute", "mute", { participant: id, muted: String(!isMuted) }, { "aria-label": `${isMuted ? "Unmute" : "Mute"} ${nameOf(id)}` }),
      " ",
      button("Remove", "remove", { participant: id }, { "aria-label": `Remove ${nameOf(id)}`, class: "danger" }));
    tr.append(name, where, actions);
    return tr;
  }));

  $("host-waiting").replaceChildren(...waitingEntries(msg).map((w) => {
    const li = document.createElement("li");
    li.dataset.participant = w.participantId;
    li.append(nameOf(w.participantId), " ",
      button("Admit", "admit", { participant: w.participantId }, { "aria-label": `Admit ${nameOf(w.participantId)}` }), " ",
      button("Deny", "deny", { participant: w.participantId }, { "aria-label": `Deny ${nameOf(w.participantId)}` }));
    return li;
  }));
  if (!$("host-waiting").children.length) $("host-waiting").textContent = "Nobody is waiting.";

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

// One handler for every button the panel draws, and its forms.
export function wireHostPanel() {
  $("host-panel").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-action]");
    if (!b) return;
    const { action, participant, room } = b.dataset;
    switch (action) {
      case "listen": command({ type: "listen", room: room || null }); break;
      case "join-room": command({ type: "join-room", room }); break;
      case "mute": command({ type: "mute", participantId: participant, muted: b.dataset.muted === "true" }); break;
      case "remove": command({ type: "remove", participantId: participant }); break;
      case "admit": command({ type: "admit", participantId: participant }); break;
      case "deny": command({ type: "deny", participantId: participant }); break;
      case "unban": command({ type: "unban", participantId: participant }); break;
    }
  });

  $("host-people").addEventListener("change", (e) => {
    const select = e.target.closest("select[data-participant]");
    if (!select) return;
    const id = select.dataset.participant;
    if (state.session && state.session.breakoutsOpen) command({ type: "move", participantId: id, room: select.value });
    else command({ type: "assign", assignments: { [id]: select.value } });
  });

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
