/* 政策助手 · 训练员审核 — the trainers' review page (bot/assist/review_api.py).
 *
 * Lists messages of real conversations the model may have misread (low confidence, fallback,
 * "没用" votes, handoffs); the trainer picks one, corrects intent and entities (select text in
 * the sentence, pick a type, "标为实体") and adds it to the reviewed training file, or marks it
 * out of scope / dismisses it. Server text is inserted with textContent only.
 */
"use strict";
(function () {
  const TOKEN_KEY = "assist-trainer-token";
  const REVIEWER_KEY = "assist-reviewer";
  const REASON = { low_confidence: "置信度低", fallback: "未识别", down_vote: "没用", handoff: "转人工" };
  const $ = (id) => document.getElementById(id);
  const st = { token: null, rows: [], selected: null, entities: [], meta: null };

  class AuthError extends Error {}

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function status(text, isError) { $("status").textContent = text || ""; $("status").classList.toggle("error", !!isError); }
  function msg(text, isError) { $("r-msg").textContent = text || ""; $("r-msg").classList.toggle("error", !!isError); }

  // ---- token -----------------------------------------------------------------------------
  function setToken(t) {
    st.token = t || null;
    try { if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* */ }
  }
  function askToken(message) {
    $("review").hidden = true;
    $("token-panel").hidden = false;
    if (message) $("token-msg").textContent = message;
    $("token-input").value = "";
    $("token-input").focus();
  }

  async function api(path, opts) {
    opts = opts || {};
    const headers = { Authorization: "Bearer " + st.token };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(path, { method: opts.method || "GET", headers, cache: "no-store",
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    let data = null;
    try { data = await resp.json(); } catch (e) { /* not JSON */ }
    if (resp.status === 401 || resp.status === 403) throw new AuthError((data && data.error) || "令牌无效");
    if (!resp.ok) throw new Error((data && data.error) || "请求失败（" + resp.status + "）");
    return data;
  }

  // ---- list --------------------------------------------------------------------------------
  function pct(x) { return Math.round(x * 100) + "%"; }
  function predicted(r) {
    let s = (r.intent || "?") + " " + pct(r.confidence || 0);
    if (r.guess) s += "（原判 " + r.guess.intent + " " + pct(r.guess.confidence) + "）";
    return s;
  }
  function entityLine(list) {
    return list.map((e) => e.text + "→" + e.entity + (e.value && e.value !== e.text ? "（" + e.value + "）" : "")).join("，");
  }

  function renderList() {
    const ol = $("r-list");
    ol.replaceChildren();
    st.rows.forEach((r) => {
      const li = el("li", st.selected && st.selected.key === r.key ? "selected" : "");
      li.dataset.key = r.key;
      r.reasons.forEach((why) => li.appendChild(el("span", "t-status " + why, REASON[why] || why)));
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("b", "r-text", r.text));
      if (r.count > 1) li.appendChild(el("span", "hint", " ×" + r.count));
      li.appendChild(el("div", "hint r-pred", "识别为 " + predicted(r)));
      if (r.entities.length) li.appendChild(el("div", "hint r-ents", "实体：" + entityLine(r.entities)));
      li.addEventListener("click", () => select(r));
      ol.appendChild(li);
    });
    if (!st.rows.length) ol.appendChild(el("li", "hint", "没有待审核的消息"));
  }

  async function load() {
    const data = await api("/api/review/messages?reason=" + encodeURIComponent($("r-reason").value));
    st.meta = data;
    st.rows = data.messages;
    $("r-total").textContent = data.total ? "共 " + data.total + " 句" : "";
    $("r-file").textContent = data.file;
    const intent = $("r-intent");
    if (!intent.options.length) {
      data.intents.forEach((i) => intent.appendChild(new Option(i, i)));
      data.entities.forEach((e) => $("r-entity-type").appendChild(new Option(e, e)));
    }
    if (st.selected && !st.rows.some((r) => r.key === st.selected.key)) { st.selected = null; $("r-editor").hidden = true; }
    renderList();
  }

  // ---- editor ------------------------------------------------------------------------------
  function preview() {
    const text = st.selected.text;
    let out = "", at = 0;
    st.entities.slice().sort((a, b) => a.start - b.start).forEach((e) => {
      out += text.slice(at, e.start) + "[" + text.slice(e.start, e.end) + "](" + e.entity + ")";
      at = e.end;
    });
    $("r-preview").textContent = "- " + out + text.slice(at);
  }
  function renderEntities() {
    const ol = $("r-entities");
    ol.replaceChildren();
    st.entities.forEach((e, i) => {
      const li = el("li", "r-entity", st.selected.text.slice(e.start, e.end) + " → " + e.entity + " ");
      const rm = el("button", "link", "删除");
      rm.type = "button";
      rm.addEventListener("click", () => { st.entities.splice(i, 1); renderEntities(); });
      li.appendChild(rm);
      ol.appendChild(li);
    });
    preview();
  }
  function select(r) {
    st.selected = r;
    const known = st.meta.entities;
    st.entities = r.entities.filter((e) => known.includes(e.entity))
      .filter((e, i, all) => !all.some((o, j) => j < i && o.start < e.end && e.start < o.end))
      .map((e) => ({ start: e.start, end: e.end, entity: e.entity }));
    $("r-editor").hidden = false;
    $("r-text").value = r.text;
    $("r-pred").textContent = "模型识别：" + predicted(r);
    const intent = r.intent === "nlu_fallback" && r.guess ? r.guess.intent : r.intent;
    if (st.meta.intents.includes(intent)) $("r-intent").value = intent;
    msg("");
    renderEntities();
    renderList();
  }
  function mark() {
    const input = $("r-text");
    const start = input.selectionStart, end = input.selectionEnd;
    if (start === null || end === null || start >= end) { msg("请先在原句中选中实体文字", true); return; }
    const type = $("r-entity-type").value;
    st.entities = st.entities.filter((e) => e.end <= start || e.start >= end);
    st.entities.push({ start, end, entity: type });
    st.entities.sort((a, b) => a.start - b.start);
    msg("");
    renderEntities();
  }

  async function decide(action) {
    if (!st.selected) return;
    const body = { text: st.selected.text, action, reviewer: $("r-reviewer").value.trim() || null };
    if (action === "add") { body.intent = $("r-intent").value; body.entities = st.entities; }
    try {
      const out = await api("/api/review/decisions", { method: "POST", body });
      const done = st.selected.text;
      st.selected = null;
      $("r-editor").hidden = true;
      status(out.line ? "已写入 " + out.file + "：" + out.intent + " · " + out.line : "已忽略：" + done);
      await load();
    } catch (e) {
      if (e instanceof AuthError) { setToken(null); askToken(e.message); return; }
      msg(e.message, true);
    }
  }

  async function start() {
    try {
      await load();
    } catch (e) {
      if (e instanceof AuthError) { setToken(null); askToken(e.message); return; }
      status(e.message, true);
      return;
    }
    $("token-panel").hidden = true;
    $("review").hidden = false;
    status("就绪");
  }

  function init() {
    const m = location.hash.match(/(?:^#|&)token=([^&]+)/);
    if (m) { setToken(decodeURIComponent(m[1])); history.replaceState(null, "", location.pathname + location.search); }
    if (!st.token) { try { st.token = sessionStorage.getItem(TOKEN_KEY); } catch (e) { /* */ } }
    try { $("r-reviewer").value = localStorage.getItem(REVIEWER_KEY) || ""; } catch (e) { /* */ }
    $("r-reviewer").addEventListener("change", () => { try { localStorage.setItem(REVIEWER_KEY, $("r-reviewer").value.trim()); } catch (e) { /* */ } });
    $("r-reason").addEventListener("change", () => load().catch((e) => status(e.message, true)));
    $("r-mark").addEventListener("click", mark);
    $("r-add").addEventListener("click", () => decide("add"));
    $("r-oos").addEventListener("click", () => decide("out_of_scope"));
    $("r-dismiss").addEventListener("click", () => decide("dismiss"));
    $("change-token").addEventListener("click", () => { setToken(null); askToken(); });
    $("token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const t = $("token-input").value.trim();
      if (!t) return;
      setToken(t);
      start();
    });
    if (st.token) start(); else askToken();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
