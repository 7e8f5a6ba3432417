/* xdt review — keyboard and decisions. Plain JavaScript, served from the package (no CDN, no build).
   The server renders every piece of HTML (escaped); this script only moves the focus, sends the
   decisions (with the page's CSRF token) and puts the fragments the server sends back in place. */
(function () {
  "use strict";

  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";

  function editing(el) {
    if (!el) { return false; }
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function plainKey(ev) { return !ev.ctrlKey && !ev.metaKey && !ev.altKey; }

  /* ------------------------------------------------------------------ the list */

  function listPage() {
    var table = document.getElementById("app-table");
    if (!table) { return; }
    var search = document.getElementById("list-q");
    var form = document.getElementById("list-filters");
    Array.prototype.forEach.call(document.querySelectorAll("select.autosubmit"), function (sel) {
      sel.addEventListener("change", function () { form.submit(); });
    });
    var rows = Array.prototype.slice.call(table.querySelectorAll("tr.rv-row[data-app]"));
    var at = -1;
    function pick(i) {
      if (!rows.length) { return; }
      if (at >= 0) { rows[at].classList.remove("selected"); }
      at = Math.max(0, Math.min(rows.length - 1, i));
      rows[at].classList.add("selected");
      rows[at].scrollIntoView({ block: "nearest" });
    }
    document.addEventListener("keydown", function (ev) {
      if (editing(ev.target) || !plainKey(ev)) { return; }
      if (ev.key === "/") { ev.preventDefault(); if (search) { search.focus(); search.select(); } }
      else if (ev.key === "j" || ev.key === "ArrowDown") { ev.preventDefault(); pick(at + 1); }
      else if (ev.key === "k" || ev.key === "ArrowUp") { ev.preventDefault(); pick(at - 1); }
      else if (ev.key === "Enter" && at >= 0) {
        ev.preventDefault();
        var link = rows[at].querySelector("a.rv-app-link");
        if (link) { window.location.href = link.getAttribute("href"); }
      }
    });
  }

  /* ------------------------------------------------------------------ an application */

  function appPage() {
    var items = Array.prototype.slice.call(document.querySelectorAll("article.rv-item"));
    var title = document.getElementById("app-name");
    if (!items.length || !title) { return; }
    var app = title.getAttribute("data-app");
    var current = -1;
    var toast = document.getElementById("rv-toast");
    var toastTimer = null;

    function say(text, bad) {
      if (!toast) { return; }
      toast.textContent = text;
      toast.className = "rv-toast" + (bad ? " bad" : "");
      toast.hidden = false;
      if (toastTimer) { clearTimeout(toastTimer); }
      toastTimer = setTimeout(function () { toast.hidden = true; }, bad ? 8000 : 2500);
    }

    function navLink(article) { return document.getElementById("nav-" + article.getAttribute("data-item")); }

    function select(i, scroll) {
      if (i < 0 || i >= items.length) { return; }
      if (current >= 0) {
        items[current].classList.remove("current");
        var oldNav = navLink(items[current]);
        if (oldNav) { oldNav.classList.remove("current"); }
      }
      current = i;
      var article = items[i];
      article.classList.add("current");
      var nav = navLink(article);
      if (nav) { nav.classList.add("current"); nav.scrollIntoView({ block: "nearest" }); }
      if (scroll !== false) { article.scrollIntoView({ block: "start" }); }
      if (!editing(document.activeElement)) { article.focus({ preventScroll: true }); }
    }

    function decisionOf(article) { return article.querySelector(".rv-decision"); }
    function isOpen(article) { return !article.classList.contains("decided"); }

    function nextOpen(from) {
      for (var step = 1; step <= items.length; step += 1) {
        var j = (from + step) % items.length;
        if (isOpen(items[j])) { return j; }
      }
      return -1;
    }

    function showError(article, text) {
      var box = article.querySelector(".rv-error");
      if (!box) { return; }
      if (text) { box.textContent = text; box.hidden = false; } else { box.textContent = ""; box.hidden = true; }
    }

    function setBusy(article, busy) {
      Array.prototype.forEach.call(article.querySelectorAll("button"), function (b) { b.disabled = busy; });
    }

    function send(article, payload) {
      payload.item = article.getAttribute("data-item");
      setBusy(article, true);
      showError(article, "");
      return fetch("/a/" + encodeURIComponent(app) + "/decide", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(payload)
      }).then(function (response) {
        return response.json().then(function (data) { return { status: response.status, data: data }; },
          function () { return { status: response.status, data: { ok: false, error: "服务器返回了无法识别的内容（" + response.status + "）" } }; });
      }).then(function (answer) {
        setBusy(article, false);
        var data = answer.data;
        if (!data.ok) {
          var text = data.error || "保存失败";
          if (answer.status === 409) { text += "（按 F5 刷新页面）"; }
          if (answer.status === 401) { text += "（请重新登录）"; }
          showError(article, text);
          say("未保存：" + text, true);
          return false;
        }
        var old = decisionOf(article);
        var holder = document.createElement("div");
        holder.innerHTML = data.item_html;
        old.parentNode.replaceChild(holder.firstElementChild, old);
        article.classList.remove("open", "decided", "changed", "conflict");
        article.classList.add(data.css);
        var nav = navLink(article);
        if (nav) { nav.classList.remove("open", "decided", "changed", "conflict"); nav.classList.add(data.css); }
        var summary = document.getElementById("app-summary");
        if (summary) {
          var box = document.createElement("div");
          box.innerHTML = data.summary_html;
          summary.parentNode.replaceChild(box.firstElementChild, summary);
        }
        say(payload.item + " " + data.label);
        return true;
      }, function () {
        setBusy(article, false);
        showError(article, "网络错误，决定未保存，请重试");
        say("网络错误，决定未保存", true);
        return false;
      });
    }

    function afterDecision(ok, index) {
      if (!ok) { return; }
      var next = nextOpen(index);
      if (next >= 0) { select(next); } else { say("本申报的评价项已全部确认"); }
    }

    function confirmItem(index) {
      var article = items[index];
      var dec = decisionOf(article);
      send(article, { action: "confirm", base: dec.getAttribute("data-base"), hash: dec.getAttribute("data-hash") })
        .then(function (ok) { afterDecision(ok, index); });
    }

    function suggested(status, max) {
      if (status === "met") { return max; }
      if (status === "partial") { return Math.round(max * 5000) / 10000; }
      return 0;
    }

    function openOverride(index) {
      var article = items[index];
      var form = article.querySelector("form.rv-override");
      var dec = decisionOf(article);
      form.hidden = false;
      form.elements.status.value = dec.getAttribute("data-status");
      form.elements.score.value = dec.getAttribute("data-score");
      form.elements.comment.value = "";
      form.elements.status.focus();
    }

    function closeOverride(article) {
      var form = article.querySelector("form.rv-override");
      form.hidden = true;
      showError(article, "");
      article.focus({ preventScroll: true });
    }

    function submitOverride(article) {
      var form = article.querySelector("form.rv-override");
      var index = items.indexOf(article);
      var comment = form.elements.comment.value.trim();
      if (!comment) { showError(article, "改判必须填写意见"); form.elements.comment.focus(); return; }
      var dec = decisionOf(article);
      send(article, {
        action: "override", base: dec.getAttribute("data-base"), hash: dec.getAttribute("data-hash"),
        status: form.elements.status.value, score: form.elements.score.value, comment: comment
      }).then(function (ok) {
        if (ok) { form.hidden = true; }
        afterDecision(ok, index);
      });
    }

    items.forEach(function (article, index) {
      var form = article.querySelector("form.rv-override");
      form.addEventListener("submit", function (ev) { ev.preventDefault(); submitOverride(article); });
      form.querySelector(".rv-cancel").addEventListener("click", function () { closeOverride(article); });
      form.elements.status.addEventListener("change", function () {
        form.elements.score.value = suggested(form.elements.status.value, parseFloat(article.getAttribute("data-max")));
      });
      article.addEventListener("click", function (ev) {
        var button = ev.target.closest ? ev.target.closest("button[data-act]") : null;
        if (current !== index) { select(index, false); }
        if (!button) { return; }
        if (button.getAttribute("data-act") === "confirm") { confirmItem(index); }
        else if (button.getAttribute("data-act") === "override") { openOverride(index); }
      });
    });

    document.addEventListener("keydown", function (ev) {
      var inForm = ev.target && ev.target.closest ? ev.target.closest("form.rv-override") : null;
      if (inForm) {
        var article = inForm.closest("article.rv-item");
        if (ev.key === "Escape") { ev.preventDefault(); closeOverride(article); }
        else if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); submitOverride(article); }
        return;
      }
      if (editing(ev.target) || !plainKey(ev)) { return; }
      var key = ev.key;
      if (key === "j" || key === "ArrowDown") { ev.preventDefault(); select(Math.min(items.length - 1, current + 1)); }
      else if (key === "k" || key === "ArrowUp") { ev.preventDefault(); select(Math.max(0, current - 1)); }
      else if (key === "n") { ev.preventDefault(); var n = nextOpen(current); if (n >= 0) { select(n); } else { say("没有未确认的评价项"); } }
      else if ((key === "c" || key === "C") && current >= 0) { ev.preventDefault(); confirmItem(current); }
      else if ((key === "o" || key === "O") && current >= 0) { ev.preventDefault(); openOverride(current); }
      else if (key === "[" || key === "]") {
        var link = document.getElementById(key === "[" ? "prev-app" : "next-app");
        if (link) { window.location.href = link.getAttribute("href"); }
      }
      else if (key === "l") { window.location.href = "/"; }
      else if (key === "?") { var help = document.getElementById("keys-help"); if (help) { help.scrollIntoView({ block: "center" }); } }
    });

    function fromHash() {
      var id = decodeURIComponent((window.location.hash || "").replace(/^#item-/, ""));
      for (var i = 0; i < items.length; i += 1) { if (items[i].getAttribute("data-item") === id) { return i; } }
      return -1;
    }
    window.addEventListener("hashchange", function () { var i = fromHash(); if (i >= 0) { select(i); } });
    var start = fromHash();
    if (start < 0) { start = nextOpen(-1); }
    if (start < 0) { start = 0; }
    select(start, window.location.hash !== "" || start > 0);
  }

  function ready(fn) {
    if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", fn); } else { fn(); }
  }
  ready(function () { listPage(); appPage(); });
})();
