// PlexiChat chat page (/chat): the public chat API and its WebSocket, no framework.
// The user token stays in this tab's sessionStorage; it is sent only in the
// Authorization header and in the WebSocket's first message, never in a URL.
(function () {
  "use strict";

  var API = "/api/v1";
  var TOKEN_KEY = "plexichat.chat.token";
  var CHANNEL_KEY = "plexichat.chat.channel";
  var PAGE = 50;

  var state = {
    token: null,
    user: null,
    channels: [],
    current: null,      // the id of the channel shown
    unread: {},         // channel id -> messages arrived while another was shown
    ws: null,
    retries: 0,
    stopped: true       // true while logged out: no reconnecting
  };

  function $(id) { return document.getElementById(id); }

  // --- the chat API ---------------------------------------------------------------------

  function api(method, path, body) {
    var headers = { "Accept": "application/json" };
    if (body !== undefined) { headers["Content-Type"] = "application/json"; }
    if (state.token) { headers["Authorization"] = "Bearer " + state.token; }
    return fetch(API + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store"
    }).then(function (response) {
      if (response.status === 204) {
        return { ok: response.ok, status: response.status, data: null, response: response };
      }
      return response.json().catch(function () { return null; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data, response: response };
      });
    }, function (error) {
      return { ok: false, status: 0, data: { detail: "the server cannot be reached (" + error.message + ")" } };
    });
  }

  // The server's reason for a refusal, as a sentence.
  function reason(result) {
    var detail = result.data && result.data.detail;
    if (typeof detail === "string") { return detail; }
    if (Array.isArray(detail)) {  // request validation: one entry per field
      return detail.map(function (d) {
        var where = (d.loc || []).filter(function (p) { return p !== "body"; }).join(".");
        return (where ? where + ": " : "") + d.msg;
      }).join("; ");
    }
    return result.status ? "HTTP " + result.status : "no answer";
  }

  function show(element, text) {
    element.textContent = text || "";
    element.hidden = !text;
  }

  // --- logging in -----------------------------------------------------------------------

  function credentials() {
    return { name: $("chat-name").value.trim(), password: $("chat-password").value };
  }

  function logIn(body) {
    return api("POST", "/users/login", body).then(function (result) {
      if (!result.ok) { throw new Error(reason(result)); }
      state.token = result.data.token;
      state.user = result.data.user;
      sessionStorage.setItem(TOKEN_KEY, state.token);
      $("chat-password").value = "";
      start();
    });
  }

  function onAuthSubmit(event) {
    event.preventDefault();
    var action = event.submitter && event.submitter.getAttribute("data-action");
    var body = credentials();
    var error = $("chat-auth-error");
    show(error, "");
    if (!body.name || !body.password) {
      show(error, "Enter a user name and a password.");
      (body.name ? $("chat-password") : $("chat-name")).focus();
      return;
    }
    var step = action === "register"
      ? api("POST", "/users", body).then(function (result) {
          if (!result.ok) { throw new Error("Not registered: " + reason(result)); }
          return logIn(body);
        })
      : logIn(body);
    step.catch(function (exc) {
      show(error, exc.message);
      $("chat-name").focus();
    });
  }

  function start() {
    state.stopped = false;
    $("chat-auth").hidden = true;
    $("chat-app").hidden = false;
    $("chat-me").textContent = state.user.name;
    connect();
    loadChannels().then(function () {
      var remembered = Number(sessionStorage.getItem(CHANNEL_KEY));
      var channel = find(remembered) || state.channels.filter(function (c) { return c.joined; })[0];
      if (channel) { select(channel, false); } else { $("chat-channel-name").focus(); }
    });
  }

  function stop(message) {
    state.stopped = true;
    state.token = null;
    state.user = null;
    state.current = null;
    sessionStorage.removeItem(TOKEN_KEY);
    if (state.ws) { state.ws.close(1000); state.ws = null; }
    $("chat-app").hidden = true;
    $("chat-auth").hidden = false;
    $("chat-log").replaceChildren();
    show($("chat-auth-error"), message || "");
    $("chat-name").focus();
  }

  function logOut() {
    api("POST", "/users/logout").then(function () { stop(""); });
  }

  // --- channels ---------------------------------------------------------------------------

  function find(id) {
    return state.channels.filter(function (c) { return c.id === id; })[0] || null;
  }

  function loadChannels() {
    return api("GET", "/channels").then(function (result) {
      if (result.status === 401) { stop("Your session ended: " + reason(result)); return; }
      if (!result.ok) { show($("chat-channel-error"), reason(result)); return; }
      state.channels = result.data;
      renderChannels();
    });
  }

  function renderChannels() {
    var list = $("chat-channels");
    list.replaceChildren();
    state.channels.forEach(function (channel) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "plx-chat-channel";
      button.setAttribute("data-channel", channel.name);
      button.textContent = "#" + channel.name;
      if (channel.id === state.current) { button.setAttribute("aria-current", "true"); }
      if (!channel.joined) {
        var hint = document.createElement("span");
        hint.className = "plx-detail";
        hint.textContent = " (join)";
        button.appendChild(hint);
      }
      var unread = state.unread[channel.id];
      if (unread) {
        var badge = document.createElement("span");
        badge.className = "plx-chat-unread";
        badge.textContent = String(unread);
        badge.setAttribute("aria-label", unread + " new");
        button.appendChild(badge);
      }
      button.addEventListener("click", function () { select(channel, true); });
      item.appendChild(button);
      list.appendChild(item);
    });
    if (!state.channels.length) {
      var none = document.createElement("li");
      none.className = "plx-detail";
      none.textContent = "No channels yet: create one.";
      list.appendChild(none);
    }
  }

  function select(channel, focus) {
    var joined = channel.joined ? Promise.resolve(true)
      : api("POST", "/channels/" + channel.id + "/join").then(function (result) {
          if (!result.ok) { show($("chat-channel-error"), reason(result)); return false; }
          channel.joined = true;
          return true;
        });
    return joined.then(function (ok) {
      if (!ok) { return; }
      state.current = channel.id;
      delete state.unread[channel.id];
      sessionStorage.setItem(CHANNEL_KEY, String(channel.id));
      $("chat-title").textContent = "#" + channel.name + (channel.topic ? " — " + channel.topic : "");
      $("chat-text").disabled = false;
      $("chat-send").disabled = false;
      show($("chat-post-error"), "");
      show($("chat-notice"), "");
      renderChannels();
      if (focus) { $("chat-text").focus(); }
      return loadMessages();
    });
  }

  function onNewChannel(event) {
    event.preventDefault();
    var input = $("chat-channel-name");
    var error = $("chat-channel-error");
    var name = input.value.trim();
    show(error, "");
    if (!name) { show(error, "Enter a channel name."); input.focus(); return; }
    api("POST", "/channels", { name: name }).then(function (result) {
      if (!result.ok) { show(error, "Not created: " + reason(result)); input.focus(); return; }
      input.value = "";
      state.channels.push(result.data);
      state.channels.sort(function (a, b) { return a.name < b.name ? -1 : 1; });
      select(result.data, true);
    });
  }

  // --- messages ---------------------------------------------------------------------------

  function loadMessages() {
    var channel = state.current;
    return api("GET", "/channels/" + channel + "/messages?limit=" + PAGE).then(function (result) {
      if (channel !== state.current) { return; }
      if (!result.ok) { show($("chat-post-error"), reason(result)); return; }
      $("chat-log").replaceChildren();
      result.data.messages.forEach(addMessage);
    });
  }

  function timeOf(iso) {
    var when = iso ? new Date(iso) : null;
    return when && !isNaN(when) ? when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
  }

  // Show (or update) one message, in id order; bot replies are marked as such.
  function addMessage(message) {
    if (message.channel_id !== state.current) { return; }
    var log = $("chat-log");
    var item = log.querySelector('[data-id="' + message.id + '"]');
    if (!item) {
      item = document.createElement("li");
      item.className = "plx-chat-message";
      item.setAttribute("data-id", String(message.id));
      var author = document.createElement("span");
      author.className = "plx-chat-author";
      var time = document.createElement("time");
      time.className = "plx-chat-time";
      var text = document.createElement("span");
      text.className = "plx-chat-text";
      item.append(author, " ", time, " ", text);
      var later = Array.prototype.filter.call(log.children, function (other) {
        return Number(other.getAttribute("data-id")) > message.id;
      })[0];
      log.insertBefore(item, later || null);
    }
    var isBot = message.author.indexOf("bot:") === 0;
    item.classList.toggle("plx-chat-bot", isBot);
    item.classList.toggle("plx-chat-mine", !!state.user && message.author_id === state.user.id);
    item.setAttribute("data-author", message.author);
    item.querySelector(".plx-chat-author").textContent = message.author;
    var time = item.querySelector(".plx-chat-time");
    time.textContent = timeOf(message.created_at);
    if (message.created_at) { time.dateTime = message.created_at; }
    item.querySelector(".plx-chat-text").textContent = message.text + (message.edited_at ? " (edited)" : "");
    log.scrollTop = log.scrollHeight;
  }

  function removeMessage(message) {
    var item = $("chat-log").querySelector('[data-id="' + message.id + '"]');
    if (item) { item.remove(); }
  }

  function onPost(event) {
    event.preventDefault();
    var input = $("chat-text");
    var error = $("chat-post-error");
    var notice = $("chat-notice");
    var text = input.value;
    if (!text.trim() || state.current === null) { return; }
    show(error, "");
    show(notice, "");
    $("chat-send").disabled = true;
    api("POST", "/channels/" + state.current + "/messages", { text: text }).then(function (result) {
      $("chat-send").disabled = false;
      input.focus();
      if (!result.ok) {  // the text stays in the box, to edit and send again
        var wait = result.response && result.response.headers.get("Retry-After");
        show(error, "Not posted: " + reason(result) + (wait ? " (try again in " + wait + " s)" : ""));
        return;
      }
      input.value = "";
      addMessage(result.data);
      (result.data.replies || []).forEach(addMessage);
      var notes = (result.data.notices || []).slice();
      if (result.data.text !== text) { notes.unshift("A plugin's filter changed your message before it was stored."); }
      show(notice, notes.join(" "));
    });
  }

  // --- the WebSocket ----------------------------------------------------------------------

  function connection(word, kind) {
    var badge = $("chat-connection");
    badge.textContent = word;
    badge.className = "plx-state plx-state-" + kind;
  }

  function connect() {
    if (state.stopped || state.ws) { return; }
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + API + "/ws");
    state.ws = ws;
    connection("connecting", "starting");
    ws.addEventListener("open", function () {
      ws.send(JSON.stringify({ type: "auth", token: state.token }));
    });
    ws.addEventListener("message", function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (exc) { return; }
      if (data.type === "ready") {
        state.retries = 0;
        connection("live", "started");
        if (state.current !== null) { loadMessages(); }  // what arrived while away
        return;
      }
      if (!data.message) { return; }
      if (data.channel_id !== state.current) {
        if (data.type === "message.created") {
          state.unread[data.channel_id] = (state.unread[data.channel_id] || 0) + 1;
          if (!find(data.channel_id)) { loadChannels(); } else { renderChannels(); }
        }
        return;
      }
      if (data.type === "message.deleted") { removeMessage(data.message); } else { addMessage(data.message); }
    });
    ws.addEventListener("close", function (event) {
      if (state.ws === ws) { state.ws = null; }
      if (state.stopped) { return; }
      if (event.code === 1008) { stop("Your session ended: " + (event.reason || "log in again")); return; }
      connection("offline — reconnecting", "failed");
      var delay = Math.min(15000, 500 * Math.pow(2, state.retries++));
      window.setTimeout(connect, delay);
    });
  }

  // --- wiring -----------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", function () {
    if (!$("chat")) { return; }
    $("chat-auth-form").addEventListener("submit", onAuthSubmit);
    $("chat-new-channel").addEventListener("submit", onNewChannel);
    $("chat-post").addEventListener("submit", onPost);
    $("chat-logout").addEventListener("click", logOut);
    state.token = sessionStorage.getItem(TOKEN_KEY);
    if (!state.token) { $("chat-name").focus(); return; }
    api("GET", "/users/me").then(function (result) {
      if (!result.ok) { stop(""); return; }
      state.user = result.data;
      start();
    });
  });
})();
