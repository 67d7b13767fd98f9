/* 政策助手 web widget: <script src=".../widget/widget.js" data-server="https://rasa.example.gov.cn"></script>
 * Talks to the widget channel (bot/channels/webwidget.py): POST {server}/webhooks/widget/session gives a
 * signed session id, kept in localStorage so a reload continues the conversation; messages go to
 * POST {server}/webhooks/widget/webhook as {"sender": <session>, "message": "…"}. No dependencies.
 * After "转人工" the answer carries {"custom": {"handoff": …}}: while a ticket is open the widget asks
 * POST …/replies every few seconds for the agent's replies; 有用/没用 go to POST …/vote. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-server]");
  var SERVER = (script && script.getAttribute("data-server")) || "http://127.0.0.1:5005";
  var TITLE = (script && script.getAttribute("data-title")) || "政策助手";
  var KEY = "policy-assistant:" + SERVER;
  var MAX_HISTORY = 200;
  var OFFLINE_AFTER = 3;          // failed retries before the banner gives the hotline
  var POLL_MS = 3000;             // agent replies, only while a ticket is open
  var NEXT_STEPS = ["更多", "第1条详细说说", "这个找谁", "转人工"];
  var LIST_RE = /^\s*1[.、．]\s/m;   // an answer that lists measures
  var OFFLINE_DEFAULT = "暂时连不上服务器，您的消息会在恢复后发送。急需咨询请拨打当地12345政务服务便民热线。";
  var URL_RE = /(https?:\/\/[^\s，。；）)]+)/g;

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { return {}; }
  }
  function save() {
    state.history = state.history.slice(-MAX_HISTORY);
    try { localStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* private mode: keep in memory */ }
  }
  var BASE = SERVER.replace(/\/$/, "") + "/webhooks/widget";

  var state = load();
  delete state.sender;  // ids the page made up itself (older widget): the server issues them now
  state.history = state.history || [];
  state.open = !!state.open;
  save();

  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = script ? script.src.replace(/widget\.js(\?.*)?$/, "widget.css") : "widget.css";
  document.head.appendChild(css);

  var root = document.createElement("div");
  root.className = "pa-root";
  root.innerHTML =
    '<button class="pa-launcher" type="button" aria-label="打开' + TITLE + '">政策咨询</button>' +
    '<section class="pa-panel" role="dialog" aria-label="' + TITLE + '">' +
    '  <header class="pa-header"><span class="pa-title"></span>' +
    '    <button class="pa-close" type="button" aria-label="关闭">×</button></header>' +
    '  <div class="pa-status" role="status" hidden></div>' +
    '  <ol class="pa-log" aria-live="polite"></ol>' +
    '  <form class="pa-form"><textarea class="pa-input" rows="1" maxlength="1000" placeholder="例如：增城区小微企业有什么贷款贴息？"></textarea>' +
    '    <button class="pa-send" type="submit">发送</button></form>' +
    "</section>";
  document.body.appendChild(root);
  var panel = root.querySelector(".pa-panel");
  var log = root.querySelector(".pa-log");
  var input = root.querySelector(".pa-input");
  var status = root.querySelector(".pa-status");
  root.querySelector(".pa-title").textContent = TITLE;

  function setOpen(open) {
    state.open = open;
    root.classList.toggle("pa-open", open);
    save();
    if (open) { input.focus(); log.scrollTop = log.scrollHeight; }
  }
  root.querySelector(".pa-launcher").addEventListener("click", function () { setOpen(true); });
  root.querySelector(".pa-close").addEventListener("click", function () { setOpen(false); });

  function textNode(parent, text) {
    // plain text with links; never innerHTML with server text
    var last = 0;
    text.replace(URL_RE, function (url, _m, offset) {
      parent.appendChild(document.createTextNode(text.slice(last, offset)));
      var a = document.createElement("a");
      a.href = url; a.textContent = url; a.target = "_blank"; a.rel = "noopener noreferrer";
      parent.appendChild(a);
      last = offset + url.length;
      return url;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function render(item, live) {
    var li = document.createElement("li");
    li.className = "pa-msg pa-" + item.from + (item.pending ? " pa-pending" : "");
    if (item.from === "agent") {
      var who = document.createElement("span");
      who.className = "pa-who";
      who.textContent = "人工坐席" + (item.ticket ? "（工单" + item.ticket + "）" : "");
      li.appendChild(who);
    }
    var bubble = document.createElement("div");
    bubble.className = "pa-bubble";
    if (item.cards && item.cards.items && item.cards.items.length) { renderCards(bubble, item.text || "", item.cards); }
    else { textNode(bubble, item.text || ""); }
    li.appendChild(bubble);
    if (item.key) { li.appendChild(voteRow(item)); }
    if (item.buttons && item.buttons.length) {
      var row = document.createElement("div");
      row.className = "pa-buttons";
      item.buttons.forEach(function (b) {
        var btn = document.createElement("button");
        btn.type = "button";
        btn.className = "pa-quick" + (b.next ? " pa-next" : "");
        btn.textContent = b.title;
        btn.disabled = !live;
        btn.addEventListener("click", function () { send(b.payload || b.title, b.title); });
        row.appendChild(btn);
      });
      li.appendChild(row);
    }
    log.insertBefore(li, typing.parentNode === log ? typing : null);
    return li;
  }

  // ---- one measure per card -------------------------------------------------------------
  // The text answer (what REST and WeChat show) stays the frame: its head, notes and hints are kept
  // as text; each numbered item is drawn as its card. A line of the item the card does not show (a
  // size limit, the kinds of enterprise named) stays on the card as a note, so nothing is lost.
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    e.className = cls;
    if (text) { e.textContent = text; }
    return e;
  }
  function safeUrl(u) {
    if (typeof u !== "string") { return null; }
    if (u.charAt(0) === "/" && u.charAt(1) !== "/") { return SERVER.replace(/\/$/, "") + u; }
    return /^https?:\/\//i.test(u) ? u : null;
  }
  function covered(c, line) {
    var t = line.trim();
    return t === "可获得：" + c.amount || t === "有效期：" + c.validity.text || t === "出处：" + c.article ||
      t === "出处：" + c.citation || (c.units || []).indexOf(t) >= 0;
  }
  function cardNode(c, notes) {
    var card = el("div", "pa-card");
    card.setAttribute("data-measure", String(c.id));
    var head = el("div", "pa-card-head");
    head.appendChild(el("span", "pa-card-num", String(c.number)));
    head.appendChild(el("span", "pa-card-title", c.title));
    var badge = el("span", "pa-badge pa-badge-" + c.validity.state, c.validity.badge);
    badge.title = c.validity.text;
    head.appendChild(badge);
    card.appendChild(head);
    card.appendChild(el("p", "pa-card-sentence", c.sentence));
    if (c.amount) { card.appendChild(el("p", "pa-card-amount", "可获得：" + c.amount)); }
    notes.forEach(function (n) { card.appendChild(el("p", "pa-card-note", n.trim())); });
    card.appendChild(el("p", "pa-card-validity", "有效期：" + c.validity.text));
    if (c.units && c.units.length) { card.appendChild(el("p", "pa-card-units", c.units.join("\n"))); }
    var url = safeUrl(c.source && c.source.url);
    if (url) {
      var a = el("a", "pa-card-source", c.source.label + " · " + c.article);
      a.href = url; a.target = "_blank"; a.rel = "noopener noreferrer";
      card.appendChild(a);
    } else {
      card.appendChild(el("p", "pa-card-source", c.article));
    }
    return card;
  }
  function renderCards(bubble, text, cards) {
    var byNumber = {};
    cards.items.forEach(function (c) { byNumber[c.number] = c; });
    var blocks = [];
    text.split("\n").forEach(function (line) {
      var m = /^(\d+)\. /.exec(line);
      var last = blocks[blocks.length - 1];
      if (m && byNumber[m[1]]) { blocks.push({ card: byNumber[m[1]], notes: [] }); return; }
      if (last && last.card && /^\s{2,}/.test(line)) { if (!covered(last.card, line)) { last.notes.push(line); } return; }
      if (!last || last.card) { last = { lines: [] }; blocks.push(last); }
      last.lines.push(line);
    });
    if (blocks.filter(function (b) { return b.card; }).length !== cards.items.length) { textNode(bubble, text); return; }
    var docs = {};
    cards.items.forEach(function (c) { docs[c.document] = true; });
    var several = Object.keys(docs).length > 1;
    var lastDoc = null;
    bubble.classList.add("pa-has-cards");
    blocks.forEach(function (b) {
      if (b.card) {
        if (several && b.card.document !== lastDoc) { bubble.appendChild(el("div", "pa-doc", b.card.document)); }
        lastDoc = b.card.document;
        bubble.appendChild(cardNode(b.card, b.notes));
      } else {
        var p = el("div", "pa-text");
        textNode(p, b.lines.join("\n"));
        bubble.appendChild(p);
      }
    });
  }

  function voteRow(item) {
    var row = document.createElement("div");
    row.className = "pa-vote";
    [["up", "有用"], ["down", "没用"]].forEach(function (v) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "pa-vote-btn" + (item.vote === v[0] ? " pa-voted" : "");
      b.textContent = v[1];
      b.setAttribute("aria-pressed", item.vote === v[0] ? "true" : "false");
      b.addEventListener("click", function () { vote(item, v[0], row); });
      row.appendChild(b);
    });
    return row;
  }

  function vote(item, choice, row) {
    session().then(function (id) {
      return fetch(BASE + "/vote", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: id, answer_key: item.key, vote: choice, answer: item.answer || item.text || "",
                               question: item.question || "" }) });
    }).then(function (resp) {
      if (!resp.ok) { throw new Error("HTTP " + resp.status); }
      item.vote = choice;
      save();
      Array.prototype.forEach.call(row.querySelectorAll(".pa-vote-btn"), function (b, i) {
        var on = (i === 0 ? "up" : "down") === choice;
        b.classList.toggle("pa-voted", on);
        b.setAttribute("aria-pressed", on ? "true" : "false");
      });
    }).catch(function () { showStatus("评价没能保存，请稍后再点一次。"); });
  }

  function scrollToStart(node) {
    // the start of a new answer in view, not its end (long answers are read from the top)
    var top = node.offsetTop - 8;
    log.scrollTop = Math.min(top, log.scrollHeight);
  }
  function scrollToEnd() { log.scrollTop = log.scrollHeight; }

  var typing = document.createElement("li");
  typing.className = "pa-msg pa-typing";  // not .pa-bot: it is no answer
  typing.setAttribute("aria-label", "正在输入");
  typing.innerHTML = '<div class="pa-bubble"><span></span><span></span><span></span></div>';
  function setTyping(on) {
    if (on && typing.parentNode !== log) { log.appendChild(typing); scrollToEnd(); }
    if (!on && typing.parentNode === log) { log.removeChild(typing); }
  }

  function showStatus(text) {
    status.hidden = !text;
    status.textContent = text || "";
  }

  var queue = [];
  var busy = false;
  var retryDelay = 1000;

  function send(message, shown) {
    var text = (message || "").trim();
    if (!text) { return; }
    var item = { from: "user", text: shown || text, pending: true };
    state.history.push(item);
    save();
    queue.push({ message: text, item: item, node: render(item, true) });
    scrollToEnd();
    Array.prototype.forEach.call(log.querySelectorAll(".pa-quick"), function (b) { b.disabled = true; });
    pump();
  }

  function session() {
    if (state.session) { return Promise.resolve(state.session); }
    return fetch(BASE + "/session", { method: "POST" }).then(function (resp) {
      if (!resp.ok) { throw new Error("HTTP " + resp.status); }
      return resp.json();
    }).then(function (body) {
      state.session = body.session;
      if (body.offline) { state.offline = body.offline; }
      save();
      return state.session;
    });
  }

  function refused(resp) {
    // the server refused this message (too long, …): say why, do not retry it
    return resp.json().catch(function () { return {}; }).then(function (body) {
      return [{ text: body.text || "（这条消息无法发送，请换个说法再问。）" }];
    });
  }

  var failures = 0;

  function pump() {
    if (busy || !queue.length) { return; }
    busy = true;
    setTyping(true);
    var job = queue[0];
    session().then(function (id) {
      return fetch(BASE + "/webhook", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: id, message: job.message })
      });
    }).then(function (resp) {
      if (resp.status === 403) {  // the session is no longer valid (new server key): get a new one, retry
        delete state.session;
        save();
        throw new Error("session");
      }
      if (resp.status >= 400 && resp.status < 500) { return refused(resp); }
      if (!resp.ok) { throw new Error("HTTP " + resp.status); }
      return resp.json();
    }).then(function (replies) {
      queue.shift();
      job.item.pending = false;
      job.node.classList.remove("pa-pending");
      setTyping(false);
      var texts = [];
      replies.forEach(function (r) {
        if (r.custom && r.custom.handoff) { startHandoff(r.custom.handoff); }
        else if (r.custom && r.custom.cards && texts.length) { texts[texts.length - 1].cards = r.custom.cards; }
        else if (r.text || (r.buttons && r.buttons.length)) { texts.push({ text: r.text || "", buttons: r.buttons || [] }); }
      });
      if (!texts.length) { texts = [{ text: "（没有收到回复，可以换个说法再问，或回复“转人工”。）" }]; }
      var first = null;
      texts.forEach(function (r, i) {
        var item = { from: "bot", text: r.text || "", buttons: r.buttons || [] };
        if (r.cards) { item.cards = r.cards; }
        if (i === texts.length - 1) {
          if (LIST_RE.test(texts.map(function (t) { return t.text || ""; }).join("\n"))) {
            // measures listed: the next steps, after any profile question's own answers
            var have = item.buttons.map(function (b) { return b.title; });
            item.buttons = item.buttons.concat(NEXT_STEPS.filter(function (t) { return have.indexOf(t) < 0; })
              .map(function (t) { return { title: t, payload: t, next: true }; }));
          }
          if (!state.handoff) {  // the vote is on the whole answer (all its messages)
            item.key = answerKey();
            item.question = job.item.text;
            item.answer = texts.map(function (t) { return t.text || ""; }).join("\n");
          }
        }
        state.history.push(item);
        var node = render(item, true);
        first = first || node;
      });
      scrollToStart(first);
      save();
      showStatus("");
      retryDelay = 1000;
      failures = 0;
      busy = false;
      pump();
    }).catch(function (err) {
      busy = false;
      if (err && err.message === "session" && !job.renewed) { job.renewed = true; pump(); return; }
      failures += 1;
      showStatus(failures >= OFFLINE_AFTER ? (state.offline || OFFLINE_DEFAULT)
                                           : "暂时连不上服务器，正在重试…（消息不会丢失）");
      status.classList.toggle("pa-offline", failures >= OFFLINE_AFTER);
      setTimeout(pump, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 15000);
    });
  }

  function answerKey() {
    var a = new Uint8Array(9);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // ---- the handoff: agent replies while a ticket is open ----------------------------------
  var pollTimer = null;
  function startHandoff(h) {
    state.handoff = { ticket: h.ticket, after: Math.max((state.handoff && state.handoff.after) || 0, h.after || 0) };
    save();
    schedulePoll();
  }
  function schedulePoll() {
    if (pollTimer || !state.handoff) { return; }
    pollTimer = setTimeout(pollReplies, POLL_MS);
  }
  function pollReplies() {
    pollTimer = null;
    if (!state.handoff || !state.session) { return; }
    fetch(BASE + "/replies", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: state.session, after: state.handoff.after }) })
      .then(function (resp) {
        if (resp.status === 403) { delete state.handoff; save(); return null; }
        if (!resp.ok) { throw new Error("HTTP " + resp.status); }
        return resp.json();
      }).then(function (body) {
        if (!body || !state.handoff) { return; }
        var first = null;
        body.replies.forEach(function (r) {
          state.handoff.after = Math.max(state.handoff.after, r.id);
          var item = r.kind === "agent" ? { from: "agent", text: r.text, ticket: r.ticket }
                                        : { from: "bot", text: r.text };
          state.history.push(item);
          first = first || render(item, true);
        });
        if (first) { scrollToStart(first); }
        if (!body.open) { delete state.handoff; }
        save();
      }).catch(function () { /* the next poll tries again */ })
      .then(schedulePoll);
  }

  root.querySelector(".pa-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var v = input.value;
    input.value = "";
    send(v);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      root.querySelector(".pa-form").dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });

  // restore: history, then resend anything that was still pending when the page closed
  state.history.forEach(function (item, i) { if (!item.pending) { render(item, i === state.history.length - 1); } });
  var pending = state.history.filter(function (h) { return h.pending; });
  state.history = state.history.filter(function (h) { return !h.pending; });
  save();
  pending.forEach(function (h) { send(h.text); });
  if (!state.history.length) {
    var hello = { from: "bot", text: "您好！我是政策助手。告诉我企业所在区、行业和规模，我帮您查适用的惠企政策。", buttons: [
      { title: "增城区小微企业贷款贴息", payload: "增城区小微企业有什么贷款贴息" },
      { title: "天河区开办企业", payload: "天河区开公司有什么便利措施" },
      { title: "转人工", payload: "转人工" }] };
    state.history.push(hello);
    save();
    render(hello, true);
  }
  setOpen(state.open);
  schedulePoll();  // a ticket still open from before the reload
  window.PolicyAssistant = { open: function () { setOpen(true); }, send: send,
                             session: function () { return state.session; } };
})();
