/* 政策助手 · 12345 坐席辅助 — plain JS, no build step, no external resources.
 *
 * Flow: the agent types what the caller says → (250 ms debounce or Ctrl+Enter) POST /api/measures
 * with the text and the slots the agent has set by hand; the server reads the other slots from the
 * text and returns them, the measures, notes and a script to read out. Everything from the server is
 * inserted with textContent, never parsed as HTML.
 */
"use strict";
(function () {
  const TOKEN_KEY = "assist-token";
  const SLOTS = ["district", "industry", "size", "topic"];
  const FREE = "__free__";
  const PAGE = 5;
  const PICK_DEFAULT = 3; // the script reads the first 3; they are ticked for the work order
  const DEBOUNCE_MS = 250;
  const $ = (id) => document.getElementById(id);

  const state = {
    token: null,
    vocab: null,
    manual: {}, // slot -> true when the agent set it (text no longer overrides it)
    values: {}, // slot -> the agent's value (string or null = 不限)
    seq: 0,
    controller: null,
    last: null,
    results: [],
    timer: null,
  };
  SLOTS.forEach((s) => { state.manual[s] = false; state.values[s] = null; });

  class AuthError extends Error {}

  // ---- token -------------------------------------------------------------------
  function storedToken() {
    try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }
  function setToken(t) {
    state.token = t || null;
    try {
      if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* private mode: keep it in memory only */ }
  }
  function tokenFromHash() {
    const m = location.hash.match(/(?:^#|&)token=([^&]+)/);
    if (!m) return;
    setToken(decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  function askToken(message) {
    $("console").hidden = true;
    $("token-panel").hidden = false;
    $("token-msg").textContent = message || "令牌由管理员提供（服务启动时打印）。只保存在本标签页，关闭即清除。";
    $("token-input").value = "";
    $("token-input").focus();
  }
  function onAuthError(e) {
    setToken(null);
    state.vocab = null;
    askToken((e && e.message && e.message !== "unauthorized") ? e.message : "令牌无效或已更换，请重新输入。");
  }

  // ---- api ---------------------------------------------------------------------
  async function api(path, opts) {
    opts = opts || {};
    const headers = { Authorization: "Bearer " + state.token };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(path, {
      method: opts.method || "GET", headers, signal: opts.signal, cache: "no-store",
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    if (resp.status === 401) throw new AuthError("unauthorized");
    if (resp.status === 403) { // the trainers' token: say so, ask for the agents' one
      let msg = "";
      try { msg = (await resp.json()).error || ""; } catch (e) { /* not JSON */ }
      throw new AuthError(msg);
    }
    if (!resp.ok) {
      let msg = "请求失败（" + resp.status + "）";
      try { const j = await resp.json(); if (j && j.error) msg = j.error; } catch (e) { /* not JSON */ }
      throw new Error(msg);
    }
    return opts.raw ? resp : resp.json();
  }

  function status(text, isError) {
    const el = $("status");
    el.textContent = text || "";
    el.classList.toggle("error", !!isError);
  }
  function now() {
    return new Date().toLocaleTimeString("zh-CN", { hour12: false });
  }

  // ---- vocabulary → selects ------------------------------------------------------
  function option(value, label) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = label || value;
    return o;
  }
  function group(label, items) {
    const g = document.createElement("optgroup");
    g.label = label;
    items.forEach((o) => g.appendChild(o));
    return g;
  }
  function fillSelects() {
    const v = state.vocab;
    const sel = {};
    SLOTS.forEach((s) => {
      sel[s] = $("slot-" + s);
      sel[s].textContent = "";
      sel[s].appendChild(option("", "（未说明 / 不限）"));
    });
    const covered = v.districts.filter((d) => d.covered);
    const others = v.districts.filter((d) => !d.covered);
    sel.district.appendChild(group("已收录政策", covered.map((d) =>
      option(d.name, d.has_documents ? d.name : d.name + "（适用上级/下级文件）"))));
    sel.district.appendChild(group("暂未收录", others.map((d) => option(d.name, d.name + "（未收录）"))));
    sel.industry.appendChild(group("国民经济行业门类", v.industries.filter((i) => i.section)
      .map((i) => option(i.name, i.code + " " + i.name))));
    sel.industry.appendChild(group("行业类别", v.industries.filter((i) => !i.section).map((i) => option(i.name))));
    v.sizes.forEach((s) => sel.size.appendChild(option(s.name, s.group ? s.name + "（" + s.members.join("、") + "）" : s.name)));
    v.topics.forEach((t) => sel.topic.appendChild(option(t.name)));
    SLOTS.forEach((s) => sel[s].appendChild(option(FREE, "其他（手动输入）…")));
    const max = v.limits && v.limits.max_text_chars;
    if (max) $("text").maxLength = max;
  }
  function hasOption(select, value) {
    return Array.prototype.some.call(select.options, (o) => o.value === value && value !== FREE);
  }
  function sizeOption(members) {
    const key = members.slice().sort().join("|");
    const hit = state.vocab.sizes.find((s) => s.members.slice().sort().join("|") === key);
    return hit ? hit.name : null;
  }

  // ---- slots ---------------------------------------------------------------------
  function setSlotUI(slot, optionValue, freeText) {
    const sel = $("slot-" + slot);
    const free = $("free-" + slot);
    sel.value = optionValue;
    free.hidden = optionValue !== FREE;
    if (optionValue === FREE) free.value = freeText || "";
  }
  function showSlot(slot, info) {
    const note = $("note-" + slot);
    note.className = "slot-note";
    if (!state.manual[slot]) {
      const canon = info.canonical;
      if (canon == null || (Array.isArray(canon) && canon.length === 0)) {
        setSlotUI(slot, "");
      } else if (slot === "size") {
        const name = sizeOption(canon);
        if (name) setSlotUI(slot, name); else setSlotUI(slot, FREE, canon.join("、"));
      } else if (hasOption($("slot-" + slot), canon)) {
        setSlotUI(slot, canon);
      } else {
        setSlotUI(slot, FREE, canon);
      }
    }
    const canonText = Array.isArray(info.canonical) ? info.canonical.join("、") : info.canonical;
    const valueText = Array.isArray(info.value) ? info.value.join("、") : info.value;
    if (info.unknown) {
      note.textContent = "未识别“" + info.unknown + "”，未按此筛选";
      note.classList.add("unknown");
    } else if (info.source === "agent") {
      note.textContent = "坐席设置" + (canonText && canonText !== valueText ? "，识别为：" + canonText : "");
      note.classList.add("agent");
    } else if (info.source === "text") {
      note.textContent = "从来电原话识别";
    } else {
      note.textContent = state.manual[slot] ? "坐席设为不限" : "";
    }
  }
  function onSelect(slot) {
    const sel = $("slot-" + slot);
    const free = $("free-" + slot);
    state.manual[slot] = true;
    if (sel.value === FREE) {
      free.hidden = false;
      state.values[slot] = free.value.trim() || null;
      free.focus();
      if (!state.values[slot]) return;
    } else {
      free.hidden = true;
      state.values[slot] = sel.value || null;
    }
    runQuery();
  }
  function onFree(slot) {
    state.manual[slot] = true;
    state.values[slot] = $("free-" + slot).value.trim() || null;
    schedule();
  }
  function resetSlots() {
    SLOTS.forEach((s) => { state.manual[s] = false; state.values[s] = null; });
    runQuery();
  }

  // ---- query ---------------------------------------------------------------------
  function requestBody(offset) {
    const body = { text: $("text").value, limit: PAGE, offset: offset || 0 };
    const asOf = $("as-of").value;
    if (asOf) body.as_of = asOf;
    SLOTS.forEach((s) => { if (state.manual[s]) body[s] = state.values[s]; });
    return body;
  }
  function hasQuery() {
    return $("text").value.trim() !== "" || SLOTS.some((s) => state.manual[s] && state.values[s]);
  }
  function schedule() {
    clearTimeout(state.timer);
    state.timer = setTimeout(runQuery, DEBOUNCE_MS);
  }
  async function runQuery() {
    clearTimeout(state.timer);
    if (!state.token || !state.vocab) return;
    const seq = ++state.seq;
    if (state.controller) state.controller.abort();
    if (!hasQuery()) {
      state.controller = null;
      renderEmpty();
      return;
    }
    const controller = (state.controller = new AbortController());
    status("查询中…");
    try {
      const data = await api("/api/measures", { method: "POST", body: requestBody(0), signal: controller.signal });
      if (seq !== state.seq) return; // a newer query is on its way
      state.last = data;
      render(data);
      status("已更新 " + now());
    } catch (e) {
      if (e.name === "AbortError") return;
      if (e instanceof AuthError) return onAuthError(e);
      if (seq === state.seq) showError(e.message);
    }
  }
  async function loadMore() {
    if (!state.last) return;
    const seq = state.seq;
    $("more").disabled = true;
    try {
      const data = await api("/api/measures", { method: "POST", body: requestBody(state.results.length) });
      if (seq !== state.seq) return;
      data.results.forEach((r) => { state.results.push(r); $("results").appendChild(card(r, false)); });
      updateMore(data.total);
      updatePicked();
    } catch (e) {
      if (e instanceof AuthError) return onAuthError(e);
      showError(e.message);
    } finally {
      $("more").disabled = false;
    }
  }

  // ---- rendering -----------------------------------------------------------------
  function renderNotes(notes, isError) {
    const box = $("notes");
    box.textContent = "";
    (notes || []).forEach((n) => {
      const p = document.createElement("p");
      p.textContent = n;
      if (isError) { p.className = "error"; p.setAttribute("role", "alert"); }
      box.appendChild(p);
    });
  }
  function showError(message) {
    status("出错：" + message, true);
    renderNotes([message], true);
  }
  function renderEmpty() {
    state.last = null;
    state.results = [];
    $("results").textContent = "";
    $("script").value = "";
    $("total").textContent = "";
    $("more").hidden = true;
    renderNotes([]);
    SLOTS.forEach((s) => { if (!state.manual[s]) setSlotUI(s, ""); $("note-" + s).textContent = ""; });
    updatePicked();
    status("");
  }
  function render(data) {
    SLOTS.forEach((s) => showSlot(s, data.slots[s]));
    renderNotes(data.notes);
    $("script").value = data.script || "";
    $("total").textContent = data.total ? "共 " + data.total + " 条" + (data.relaxed ? "（无直接匹配，以下为其他适用措施）" : "") : "";
    state.results = data.results.slice();
    const list = $("results");
    list.textContent = "";
    data.results.forEach((r, i) => list.appendChild(card(r, i < PICK_DEFAULT)));
    if (!data.results.length && !data.empty_input) {
      const li = document.createElement("li");
      li.className = "hint";
      li.textContent = "没有列出措施。";
      list.appendChild(li);
    }
    updateMore(data.total);
    updatePicked();
  }
  function updateMore(total) {
    $("more").hidden = state.results.length >= total;
  }
  function validityBadge(r) {
    if (r.expired === true) return ["已过期", "expired"];
    if (r.expired === false) return ["有效期内", "valid"];
    return ["未注明有效期", "unknown"];
  }
  function card(r, picked) {
    const li = $("card-tpl").content.firstElementChild.cloneNode(true);
    const [badgeText, cls] = validityBadge(r);
    li.classList.add(cls === "valid" ? "ok" : cls);
    li.dataset.id = r.id;
    const box = li.querySelector(".pick-box");
    box.value = r.id;
    box.checked = picked;
    box.addEventListener("change", updatePicked);
    const badge = li.querySelector(".badge");
    badge.textContent = badgeText;
    badge.classList.add(cls);
    li.querySelector(".card-title").textContent = r.number + ". " + (r.item_heading || r.section || "");
    li.querySelector(".excerpt").textContent = r.excerpt + (r.region_note || "");
    li.querySelector(".text").textContent = r.text;
    const chips = li.querySelector(".chips");
    const seen = [];
    (r.amounts || []).forEach((a) => { if (seen.indexOf(a.raw) < 0) seen.push(a.raw); });
    seen.forEach((raw) => { const s = document.createElement("span"); s.textContent = raw; chips.appendChild(s); });
    li.querySelector(".amounts").hidden = seen.length === 0;
    li.querySelector(".validity span").textContent = r.validity;
    if (r.deadline) {
      const d = li.querySelector(".deadline");
      d.hidden = false;
      d.textContent = r.deadline;
    }
    li.querySelector(".citation span").textContent = r.citation;
    li.querySelector(".units").textContent = (r.units || "").replace(/\n +/g, "\n");
    return li;
  }
  function pickedIds() {
    return Array.prototype.map.call(document.querySelectorAll("#results .pick-box:checked"), (b) => Number(b.value));
  }
  function updatePicked() {
    const ids = pickedIds();
    $("picked-count").textContent = String(ids.length);
    const names = [];
    state.results.filter((r) => ids.indexOf(r.id) >= 0).forEach((r) => {
      (r.contacts || []).forEach((u) => { if (!u.generic && names.indexOf(u.name) < 0) names.push(u.name); });
      if (r.document_contact && names.indexOf(r.document_contact.name) < 0) names.push(r.document_contact.name);
      if (r.hotline && names.indexOf(r.hotline.name) < 0) names.push(r.hotline.name);
    });
    const dl = $("transfer-list");
    dl.textContent = "";
    names.forEach((n) => dl.appendChild(option(n)));
  }

  // ---- copy & export -----------------------------------------------------------------
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(text); return true; } catch (e) { /* fall through */ }
    }
    // plain HTTP on the hotline LAN is not a secure context: the old way still works
    const ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.style.position = "fixed";
    ta.style.top = "-1000px";
    ta.style.opacity = "0";
    const active = document.activeElement;
    document.body.appendChild(ta);
    ta.select();
    ta.setSelectionRange(0, text.length);
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(ta);
    if (active && active.focus) active.focus();
    return ok;
  }
  async function copyScript() {
    const text = $("script").value;
    if (!text) { status("还没有可复制的话术"); return; }
    const ok = await copyText(text);
    if (ok) status("话术已复制 " + now());
    else { $("script").focus(); $("script").select(); status("无法自动复制，已选中话术，请按 Ctrl+C", true); }
  }
  function stamp() {
    const d = new Date();
    const p = (n) => String(n).padStart(2, "0");
    return d.getFullYear() + p(d.getMonth() + 1) + p(d.getDate()) + "-" + p(d.getHours()) + p(d.getMinutes()) + p(d.getSeconds());
  }
  function download(blob, name) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
  function workorderBody() {
    const body = requestBody(0);
    delete body.limit;
    delete body.offset;
    body.caller_need = $("need").value.trim() || null;
    body.transfer_unit = $("transfer").value.trim() || null;
    body.measure_ids = pickedIds();
    return body;
  }
  function preview(record) {
    const t = record.transfer || {};
    const lines = [record.summary, "转办单位：" + t.name + (t.phone ? "（" + t.phone + "）" : "") + " —— " + t.basis_text];
    if (record.measure_ids_not_found && record.measure_ids_not_found.length) {
      lines.push("未找到的措施编号：" + record.measure_ids_not_found.join("、"));
    }
    $("wo-preview").textContent = lines.join("\n");
    $("wo-preview").hidden = false;
  }
  async function exportWorkorder(format) {
    if (!state.token) return;
    try {
      status("生成工单…");
      if (format === "csv") {
        const resp = await api("/api/workorder?format=csv", { method: "POST", body: workorderBody(), raw: true });
        download(await resp.blob(), "12345工单-" + stamp() + ".csv");
        const record = await api("/api/workorder", { method: "POST", body: workorderBody() });
        preview(record);
      } else {
        const record = await api("/api/workorder", { method: "POST", body: workorderBody() });
        download(new Blob([JSON.stringify(record, null, 2)], { type: "application/json" }), "12345工单-" + stamp() + ".json");
        preview(record);
      }
      status("工单已导出 " + now());
    } catch (e) {
      if (e instanceof AuthError) return onAuthError(e);
      showError(e.message);
    }
  }

  // ---- wiring ----------------------------------------------------------------------
  async function start() {
    $("token-panel").hidden = true;
    $("console").hidden = false;
    status("加载词表…");
    try {
      state.vocab = await api("/api/vocabulary");
    } catch (e) {
      if (e instanceof AuthError) return onAuthError(e);
      showError(e.message);
      return;
    }
    fillSelects();
    status("就绪");
    document.dispatchEvent(new CustomEvent("assist:ready"));  // the inbox (inbox.js) starts
    $("text").focus();
    if (hasQuery()) runQuery();
  }

  function init() {
    tokenFromHash();
    state.token = state.token || storedToken();
    const text = $("text");
    const count = () => { $("count").textContent = text.value.length + "/" + text.maxLength; };
    text.addEventListener("input", () => { count(); schedule(); });
    $("run").addEventListener("click", runQuery);
    $("more").addEventListener("click", loadMore);
    $("reset-slots").addEventListener("click", resetSlots);
    $("as-of").addEventListener("change", runQuery);
    SLOTS.forEach((s) => {
      $("slot-" + s).addEventListener("change", () => onSelect(s));
      $("free-" + s).addEventListener("input", () => onFree(s));
      $("free-" + s).addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); runQuery(); } });
    });
    $("copy-script").addEventListener("click", copyScript);
    $("export-json").addEventListener("click", () => exportWorkorder("json"));
    $("export-csv").addEventListener("click", () => exportWorkorder("csv"));
    $("change-token").addEventListener("click", () => { setToken(null); askToken(); });
    $("token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const t = $("token-input").value.trim();
      if (!t) return;
      setToken(t);
      start();
    });
    document.addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === "Enter") { e.preventDefault(); runQuery(); return; }
      if (e.altKey && !e.ctrlKey && !e.metaKey) {
        const slot = { Digit1: "district", Digit2: "industry", Digit3: "size", Digit4: "topic" }[e.code];
        const action = { KeyC: copyScript, KeyJ: () => exportWorkorder("json"), KeyX: () => exportWorkorder("csv") }[e.code];
        if (slot) { e.preventDefault(); $("slot-" + slot).focus(); }
        else if (action) { e.preventDefault(); action(); }
        return;
      }
      if (e.key === "Escape" && !$("console").hidden) text.focus();
    });
    count();
    if (state.token) start(); else askToken();
  }

  // for inbox.js: the token, and the same fetch wrapper
  window.AssistConsole = { token: () => state.token, api, AuthError, onAuthError, download };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
