/* 政策助手 web widget: <script src=".../widget/widget.js" data-server="https://rasa.example.gov.cn"></script>
 * Talks to the widget channel (bot/channels/webwidget.py): POST {server}/webhooks/widget/session gives a
 * signed session id, kept in localStorage so a reload continues the conversation; messages go to
 * POST {server}/webhooks/widget/webhook as {"sender": <session>, "message": "…"}. No dependencies. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-server]");
  var SERVER = (script && script.getAttribute("data-server")) || "http://127.0.0.1:5005";
  var TITLE = (script && script.getAttribute("data-title")) || "政策助手";
  var KEY = "policy-assistant:" + SERVER;
  var MAX_HISTORY = 200;
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
    var bubble = document.createElement("div");
    bubble.className = "pa-bubble";
    textNode(bubble, item.text || "");
    li.appendChild(bubble);
    if (item.buttons && item.buttons.length) {
      var row = document.createElement("div");
      row.className = "pa-buttons";
      item.buttons.forEach(function (b) {
        var btn = document.createElement("button");
        btn.type = "button";
        btn.className = "pa-quick";
        btn.textContent = b.title;
        btn.disabled = !live;
        btn.addEventListener("click", function () { send(b.payload || b.title, b.title); });
        row.appendChild(btn);
      });
      li.appendChild(row);
    }
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
    return li;
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

  function pump() {
    if (busy || !queue.length) { return; }
    busy = true;
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
      if (!replies.length) { replies = [{ text: "（没有收到回复，可以换个说法再问，或回复“转人工”。）" }]; }
      replies.forEach(function (r) {
        var item = { from: "bot", text: r.text || "", buttons: r.buttons || [] };
        state.history.push(item);
        render(item, true);
      });
      save();
      showStatus("");
      retryDelay = 1000;
      busy = false;
      pump();
    }).catch(function (err) {
      busy = false;
      if (err && err.message === "session" && !job.renewed) { job.renewed = true; pump(); return; }
      showStatus("暂时连不上服务器，正在重试…（消息不会丢失）");
      setTimeout(pump, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 15000);
    });
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
  window.PolicyAssistant = { open: function () { setOpen(true); }, send: send,
                             session: function () { return state.session; } };
})();
