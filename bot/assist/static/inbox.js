/* 政策助手 · 12345 坐席辅助 — the handoff inbox (bot/assist/inbox_api.py).
 *
 * New tickets and every change arrive by server-sent events (GET /api/inbox/stream; EventSource
 * reconnects by itself and resends Last-Event-ID, so a network blip loses nothing). The agent picks a
 * ticket, claims it, replies (the reply appears in the enterprise's chat window), fills in the
 * work-order fields and closes it with an outcome. Server text is inserted with textContent only.
 */
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const AGENT_KEY = "assist-agent";
  const KIND = { opened: "转人工", claimed: "接单", agent: "坐席", customer: "企业", closed: "结束", fields: "工单信息" };
  const st = { tickets: new Map(), selected: null, source: null, meta: null, fresh: new Set() };
  let C = null;

  function agent() { return $("agent").value.trim(); }
  function msg(text, isError) { $("t-msg").textContent = text || ""; $("t-msg").classList.toggle("error", !!isError); }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function fill(select, values, blank) {
    select.replaceChildren();
    if (blank) select.appendChild(new Option(blank, ""));
    values.forEach((v) => select.appendChild(new Option(v, v)));
  }

  async function call(path, opts) {
    try { return await C.api(path, opts); } catch (e) {
      if (e instanceof C.AuthError) { C.onAuthError(e); throw e; }
      throw e;
    }
  }

  // ---- list ---------------------------------------------------------------------------
  function renderList() {
    const ol = $("tickets");
    ol.replaceChildren();
    const filter = $("inbox-filter").value;
    const shown = [...st.tickets.values()]
      .filter((t) => filter === "all" || (filter === "open" ? t.status !== "closed" : t.status === filter))
      .sort((a, b) => b.id - a.id);
    shown.forEach((t) => {
      const li = el("li", st.fresh.has(t.id) ? "new" : "");
      if (st.selected === t.id) li.classList.add("selected");
      li.dataset.ticket = String(t.id);
      li.appendChild(el("span", "t-status " + t.status, t.status_name));
      li.appendChild(document.createTextNode(" " + t.number + " · " + (t.created_at || "").slice(11, 16) + " "));
      li.appendChild(el("b", "", t.question || "（未说明诉求）"));
      if (t.profile_line) li.appendChild(el("div", "hint", t.profile_line));
      if (t.claimed_by) li.appendChild(el("div", "hint", "坐席：" + t.claimed_by));
      li.addEventListener("click", () => select(t.id));
      ol.appendChild(li);
    });
    const waiting = [...st.tickets.values()].filter((t) => t.status === "waiting").length;
    $("inbox-count").textContent = waiting ? "待接单 " + waiting : "";
    if (!shown.length) ol.appendChild(el("li", "hint", "暂无工单"));
  }

  async function loadList() {
    const data = await call("/api/inbox?status=" + encodeURIComponent($("inbox-filter").value));
    st.meta = data;
    data.tickets.forEach((t) => st.tickets.set(t.id, t));
    fill($("t-category"), data.categories, "（未选）");
    fill($("t-outcome"), data.outcomes);
    renderList();
    return data.last_event;
  }

  // ---- live ------------------------------------------------------------------------------
  function connect(after) {
    if (st.source) st.source.close();
    const url = "/api/inbox/stream?after=" + after + "&token=" + encodeURIComponent(C.token());
    const src = new EventSource(url);
    st.source = src;
    src.addEventListener("open", () => { $("inbox-live").textContent = "实时更新中"; });
    src.addEventListener("error", () => { $("inbox-live").textContent = "实时连接中断，正在重连…"; });
    src.addEventListener("ticket", (ev) => {
      const e = JSON.parse(ev.data);
      st.tickets.set(e.ticket.id, e.ticket);
      if (e.kind === "opened") st.fresh.add(e.ticket.id);
      renderList();
      if (st.selected === e.ticket.id) select(e.ticket.id, true);
    });
  }

  // ---- one ticket ----------------------------------------------------------------------------
  function turn(who, cls, text, at) {
    const li = el("li", cls);
    li.appendChild(el("span", "who", who + (at ? " " + at.slice(11, 16) : "")));
    li.appendChild(document.createTextNode(text || ""));
    return li;
  }

  async function select(id, keepInputs) {
    st.selected = id;
    st.fresh.delete(id);
    renderList();
    let t;
    try { t = await call("/api/tickets/" + id); } catch (e) { msg(e.message, true); return; }
    if (st.selected !== id) return;
    st.tickets.set(id, t);
    $("ticket").hidden = false;
    $("t-title").textContent = "工单 " + t.number + " · " + t.status_name;
    $("t-meta").textContent = [t.created_at, "渠道：" + t.channel, t.profile_line, t.claimed_by ? "坐席：" + t.claimed_by : "",
      t.queue_position ? "排队第" + t.queue_position + "位" : "", t.outcome ? "结果：" + t.outcome : ""].filter(Boolean).join(" · ");
    $("t-summary").textContent = t.summary;
    const conv = $("t-conv");
    conv.replaceChildren();
    t.conversation.forEach((c) => conv.appendChild(turn(c.from === "user" ? "企业" : "助手", "from-" + c.from, c.text, c.at)));
    t.events.forEach((e) => {
      if (e.kind === "agent") conv.appendChild(turn("坐席 " + (e.author || ""), "from-agent", e.text + (e.delivery === "failed" ? "（未送达微信）" : e.delivery === "unavailable" ? "（未配置微信消息接口，未送达）" : ""), e.at));
      else if (e.kind === "customer") conv.appendChild(turn("企业", "from-user", e.text, e.at));
      else if (e.kind !== "opened") conv.appendChild(turn(KIND[e.kind] || e.kind, "hint", (e.author || "") + (e.text ? "：" + e.text : ""), e.at));
    });
    conv.scrollTop = conv.scrollHeight;
    const ms = $("t-measures");
    ms.replaceChildren();
    t.measures.forEach((m) => {
      const li = el("li", "", m.citation + (m.amounts ? "　可获得：" + m.amounts : ""));
      if (m.source_url) {
        const a = el("a", "", "原文");
        a.href = m.source_url; a.target = "_blank"; a.rel = "noopener noreferrer";
        li.appendChild(document.createTextNode(" ")); li.appendChild(a);
      }
      ms.appendChild(li);
    });
    if (!t.measures.length) ms.appendChild(el("li", "hint", "尚未给出措施"));
    const hist = $("t-history");
    hist.replaceChildren();
    t.history.forEach((h) => hist.appendChild(el("li", "", h.number + " · " + h.status_name + (h.outcome ? "（" + h.outcome + "）" : "") + " · " + (h.question || ""))));
    if (!t.history.length) hist.appendChild(el("li", "hint", "此前没有工单"));
    (t.earlier_conversations || []).forEach((c) => {
      const li = el("li", "earlier", "此前的对话 · " + (c.started || "").slice(0, 16).replace("T", " "));
      const ol = el("ol", "conv");
      c.messages.forEach((m) => ol.appendChild(el("li", m.from === "user" ? "user" : "bot",
        (m.from === "user" ? "企业：" : "助手：") + m.text)));
      li.appendChild(ol);
      hist.appendChild(li);
    });
    if (!keepInputs) {
      $("t-name").value = t.caller_name || "";
      $("t-phone").value = t.caller_phone || "";
      $("t-category").value = t.category || "";
      $("t-note").value = t.outcome_note || "";
      msg("");
    }
    const mine = t.status === "claimed" && t.claimed_by === agent();
    $("t-claim").disabled = t.status !== "waiting";
    $("t-send").disabled = !mine;
    $("t-close").disabled = t.status === "closed";
  }

  function needAgent() {
    if (agent()) return true;
    msg("请先在“坐席”处填写姓名或工号", true);
    $("agent").focus();
    return false;
  }

  async function act(path, body, done) {
    if (!st.selected || !needAgent()) return;
    try {
      await call("/api/tickets/" + st.selected + path, { method: "POST", body: Object.assign({ agent: agent() }, body) });
      msg(done);
      await select(st.selected, true);
    } catch (e) { if (!(e instanceof C.AuthError)) msg(e.message, true); }
  }

  async function exportOne(format) {
    if (!st.selected) return;
    const t = st.tickets.get(st.selected);
    try {
      const resp = await call("/api/tickets/" + st.selected + "/workorder?format=" + format, { raw: true });
      C.download(await resp.blob(), "12345工单-" + t.number + "." + format);
    } catch (e) { if (!(e instanceof C.AuthError)) msg(e.message, true); }
  }

  async function exportAll() {
    try {
      const resp = await call("/api/workorders?format=csv", { raw: true });
      C.download(await resp.blob(), "12345工单.csv");
    } catch (e) { if (!(e instanceof C.AuthError)) msg(e.message, true); }
  }

  async function start() {
    C = window.AssistConsole;
    try { $("agent").value = localStorage.getItem(AGENT_KEY) || ""; } catch (e) { /* private mode */ }
    try { connect(await loadList()); } catch (e) { if (!(e instanceof C.AuthError)) $("inbox-live").textContent = e.message; }
  }

  function init() {
    $("agent").addEventListener("change", () => { try { localStorage.setItem(AGENT_KEY, agent()); } catch (e) { /* */ } if (st.selected) select(st.selected, true); });
    $("inbox-filter").addEventListener("change", () => loadList().catch(() => {}));
    $("t-claim").addEventListener("click", () => act("/claim", {}, "已接单"));
    $("t-send").addEventListener("click", async () => {
      const text = $("t-reply").value.trim();
      if (!text) { msg("回复内容不能为空", true); return; }
      await act("/reply", { text }, "已发送");
      if (!$("t-msg").classList.contains("error")) $("t-reply").value = "";
    });
    $("t-save").addEventListener("click", () => act("/fields", {
      caller_name: $("t-name").value.trim() || null, caller_phone: $("t-phone").value.trim() || null,
      category: $("t-category").value || null }, "工单信息已保存"));
    $("t-close").addEventListener("click", () => act("/close", { outcome: $("t-outcome").value, note: $("t-note").value.trim() || null }, "工单已结束"));
    $("t-json").addEventListener("click", () => exportOne("json"));
    $("t-csv").addEventListener("click", () => exportOne("csv"));
    $("export-all-csv").addEventListener("click", exportAll);
    document.addEventListener("assist:ready", start);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
