// The sandbox page: polls what the chosen person sees, posts what they do.
// Every action goes to the sandbox server, which sends the app the signed
// request Slack would send; nothing here decides anything about the workflow.
"use strict";

const setup = JSON.parse(document.getElementById("setup").textContent);
const T = setup.texts;
const $ = (id) => document.getElementById(id);
const state = { user: setup.people[0].id, view: "channel", version: null, data: null, openThreads: new Set(), modalId: null, modalErrors: "" };

function fill(text, params) {
  return text.replace(/\{(\w+)\}/g, (_, key) => (key in params ? params[key] : `{${key}}`));
}

function esc(text) {
  const div = document.createElement("div");
  div.textContent = text;
  return div.innerHTML;
}

function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 4000);
}

async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ user: state.user, ...body }) });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) toast(answer.error || T.error_request);
  await refresh(true);
  return answer;
}

// --- drawing ------------------------------------------------------------------
function conversationId() {
  return state.view === "dm" ? state.data.dm : state.data.channel;
}

function renderFiles(files) {
  return files.map((f) => `<div class="file">${f.image ? `<a href="files/${encodeURIComponent(f.id)}" target="_blank"><img class="file-preview" src="files/${encodeURIComponent(f.id)}" alt="${esc(f.name)}"></a>` : ""}
    📎 <a class="file-open" href="files/${encodeURIComponent(f.id)}" target="_blank">${esc(f.name)}</a>
    <span class="file-size">${esc(fill(T.size_kb, { size: Math.max(1, Math.round(f.size / 1024)) }))}</span>
    <a class="file-download" href="files/${encodeURIComponent(f.id)}?download=1" download>${esc(T.download)}</a></div>`).join("");
}

function renderReactions(m) {
  const have = m.reactions.map((r) => `<button type="button" class="reaction${r.mine ? " mine" : ""}" data-name="${esc(r.name)}" data-added="${r.mine ? "false" : "true"}" title="${esc(r.mine ? T.reaction_remove : T.reaction_add)}">${esc(r.emoji)} ${r.count}</button>`).join("");
  const add = setup.emoji.filter((e) => !m.reactions.some((r) => r.name === e.name && r.mine))
    .map((e) => `<button type="button" class="reaction add" data-name="${esc(e.name)}" data-added="true" title="${esc(T.reaction_add)}">+${esc(e.emoji)}</button>`).join("");
  return `<div class="reactions">${have}<span class="reaction-picker">${add}</span></div>`;
}

function renderMessage(m, inThread) {
  const open = state.openThreads.has(m.ts);
  const replies = inThread ? "" : `<div class="thread-bar"><a href="#" class="thread-toggle">${esc(m.replies.length ? fill(T.replies, { count: m.replies.length }) : T.reply_in_thread)}</a></div>
    <div class="thread"${open ? "" : " hidden"}>${m.replies.map((r) => renderMessage(r, true)).join("")}
      <form class="thread-reply"><input type="text" placeholder="${esc(T.reply_placeholder)}"><button type="submit">${esc(T.reply)}</button></form></div>`;
  return `<div class="sb-message${m.bot ? " from-bot" : ""}" data-channel="${esc(m.channel)}" data-ts="${esc(m.ts)}">
    <div class="meta"><span class="author">${esc(m.who)}</span>${m.bot ? `<span class="app-badge">${esc(T.app)}</span>` : ""}<span class="time">${esc(m.time)}</span>${m.edited ? `<span class="edited">${esc(T.edited)}</span>` : ""}</div>
    <div class="body">${m.html}${m.text && !m.html ? m.text : ""}</div>${renderFiles(m.files)}${renderReactions(m)}${replies}</div>`;
}

function renderConversation() {
  const conv = state.data.conversations[conversationId()];
  const ephemerals = conv.ephemerals.map((html) => `<div class="sb-ephemeral"><div class="only-you">🔒 ${esc(T.only_you)}</div>${html}</div>`).join("");
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  const top = box.scrollTop;
  box.innerHTML = (conv.messages.length ? conv.messages.map((m) => renderMessage(m, false)).join("") : `<p class="empty">${esc(T.empty)}</p>`) + ephemerals;
  box.scrollTop = atBottom ? box.scrollHeight : top;
}

function renderModal() {
  const modal = state.data.modal;
  if (!modal) {
    $("modal-back").hidden = true;
    state.modalId = null;
    return;
  }
  const errors = JSON.stringify(modal.errors);
  if (state.modalId !== modal.view_id || state.modalErrors !== errors) {
    const typed = readModal();
    $("modal-title").textContent = modal.title;
    $("modal-submit").textContent = modal.submit || T.submit;
    $("modal-close").textContent = modal.close || T.close;
    $("modal-body").innerHTML = modal.html;
    const values = state.modalId === modal.view_id ? typed : modal.values;
    for (const [blockId, actions] of Object.entries(values || {})) {
      const field = document.querySelector(`#modal-body [data-block-id="${CSS.escape(blockId)}"][data-action-id]`);
      const value = Object.values(actions)[0];
      if (field && value != null) field.value = value;
    }
    state.modalId = modal.view_id;
    state.modalErrors = errors;
  }
  $("modal-back").hidden = false;
}

function readModal() {
  const values = {};
  document.querySelectorAll("#modal-body [data-action-id][data-block-id]").forEach((field) => {
    if (!("value" in field) || field.tagName === "BUTTON") return;
    values[field.dataset.blockId] = { [field.dataset.actionId]: field.value };
  });
  return values;
}

function render() {
  const d = state.data;
  $("now").textContent = d.now;
  document.body.classList.toggle("replaying", d.replaying);
  for (const id of ["clock-hour", "clock-morning", "clock-due", "replay", "composer-send"]) $(id).disabled = d.replaying;
  $("story").hidden = !d.story;
  $("story").textContent = d.story ? (d.replaying ? `▶ ${T.replaying} ` : "") + d.story : "";
  for (const nav of document.querySelectorAll(".nav")) nav.classList.toggle("active", nav.dataset.view === state.view);
  const home = state.view === "home";
  $("home").hidden = !home;
  $("messages").hidden = home;
  $("composer").hidden = home;
  $("pane-title").textContent = home ? T.home : state.view === "dm" ? T.dm_with_bot : `# ${T.channel_name}`;
  if (home) {
    $("home").innerHTML = d.home || `<p class="empty">${esc(T.home_empty)}</p>`;
  } else {
    renderConversation();
  }
  renderModal();
}

async function refresh(force) {
  const since = force || !state.version ? "" : state.version;
  const response = await fetch(`api/state?user=${encodeURIComponent(state.user)}&since=${encodeURIComponent(since)}`);
  if (!response.ok) return;
  const d = await response.json();
  state.version = d.version;
  if (d.unchanged) return;
  state.data = d;
  render();
  document.body.dataset.version = d.version;
}

function jump(channel, ts) {
  state.view = channel.startsWith("D") ? "dm" : "channel";
  render();
  const found = document.querySelector(`.sb-message[data-ts="${CSS.escape(ts)}"]`);
  if (found) { found.scrollIntoView({ block: "center" }); found.classList.add("flash"); }
}

// --- acting -------------------------------------------------------------------
function ask(confirm) {
  return new Promise((resolve) => {
    $("confirm-title").textContent = (confirm.title || {}).text || "";
    $("confirm-text").textContent = (confirm.text || {}).text || "";
    $("confirm-ok").textContent = (confirm.confirm || {}).text || T.ok;
    $("confirm-deny").textContent = (confirm.deny || {}).text || T.close;
    $("confirm-back").hidden = false;
    const done = (answer) => { $("confirm-back").hidden = true; resolve(answer); };
    $("confirm-ok").onclick = () => done(true);
    $("confirm-deny").onclick = () => done(false);
  });
}

document.addEventListener("click", async (event) => {
  const target = event.target;
  const button = target.closest("button.sb-btn");
  if (button && !button.closest("#modal")) {
    event.preventDefault();
    if (button.dataset.confirm && !(await ask(JSON.parse(button.dataset.confirm)))) return;
    const message = button.closest(".sb-message");
    button.disabled = true;
    await post("api/click", {
      action_id: button.dataset.actionId, value: button.dataset.value, block_id: button.dataset.blockId,
      channel: message ? message.dataset.channel : null, ts: message ? message.dataset.ts : null,
    });
    // a link button: Slack opens its URL too; a message's permalink opens here
    const link = /\/archives\/(\w+)\/p(\d{10})(\d{6})/.exec(button.dataset.url || "");
    if (link) jump(link[1], `${link[2]}.${link[3]}`);
    return;
  }
  const reaction = target.closest("button.reaction");
  if (reaction) {
    const message = reaction.closest(".sb-message");
    await post("api/react", { channel: message.dataset.channel, ts: message.dataset.ts, name: reaction.dataset.name, added: reaction.dataset.added === "true" });
    return;
  }
  const toggle = target.closest(".thread-toggle");
  if (toggle) {
    event.preventDefault();
    const ts = toggle.closest(".sb-message").dataset.ts;
    if (state.openThreads.has(ts)) state.openThreads.delete(ts); else state.openThreads.add(ts);
    render();
    return;
  }
  const permalink = target.closest("a.sb-permalink");
  if (permalink) {
    event.preventDefault();
    jump(permalink.dataset.channel, permalink.dataset.ts);
    return;
  }
  const nav = target.closest(".nav");
  if (nav) {
    event.preventDefault();
    state.view = nav.dataset.view;
    if (state.view === "home") await post("api/home", {});
    else render();
  }
});

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.classList.contains("thread-reply")) return;
  event.preventDefault();
  const input = form.querySelector("input");
  const message = form.closest(".sb-message");
  if (!input.value.trim()) return;
  await post("api/reply", { channel: message.dataset.channel, thread_ts: message.dataset.ts, text: input.value });
});

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("composer-text").value.trim();
  if (!text) return;
  $("composer-text").value = "";
  if (text.startsWith("/")) {
    if (!text.startsWith("/reject")) { toast(T.only_reject); return; }
    await post("api/command", { channel: conversationId(), text });
  } else {
    await post("api/reply", { channel: conversationId(), thread_ts: null, text });
  }
});

$("modal").addEventListener("submit", async (event) => {
  event.preventDefault();
  await post("api/submit", { view_id: state.modalId, values: readModal() });
});
for (const id of ["modal-close", "modal-x"]) $(id).addEventListener("click", () => post("api/close", {}));

for (const id of ["clock-hour", "clock-morning", "clock-due"]) {
  $(id).addEventListener("click", async () => {
    document.body.classList.add("working");
    try { await post("api/clock", { how: $(id).dataset.how }); } finally { document.body.classList.remove("working"); }
  });
}
$("replay").addEventListener("click", () => post("api/replay", {}));

const person = $("person");
for (const p of setup.people) {
  const option = document.createElement("option");
  option.value = p.id;
  option.textContent = `${p.name} — ${p.role}`;
  person.appendChild(option);
}
person.addEventListener("change", async () => {
  state.user = person.value;
  state.modalId = null;
  if (state.view === "home") await post("api/home", {}); else await refresh(true);
});

refresh(true);
setInterval(() => refresh(false), 1000);
