/* news-search box for other sites' pages (a CMS template): one <script> tag and a container.

     <div data-news-search data-results-url="https://www.example.com/search.php?q={q}"></div>
     <script src="https://search.example.com/static/embed.js" async></script>

   The script builds a search form inside every [data-news-search] element. While the reader
   types it asks this service's /api/suggest (cross-origin: the site's origin must be listed in
   NEWS_SEARCH_CORS_ORIGINS) and shows the suggestions as an ARIA listbox; Enter (or a picked
   suggestion) goes to data-results-url with {q} replaced by the URL-encoded query, by default to
   this service's own /search page. Optional: data-placeholder, data-button (label), data-limit.
   The container gets data-news-search-state="ready", or "unavailable" when suggestions cannot be
   fetched (search itself still works). Text is inserted with textContent only. */
(function () {
  "use strict";
  var script = document.currentScript ||
    document.querySelector("script[src*='/static/embed.js']");
  if (!script || !window.fetch || !window.URLSearchParams) { return; }
  var base = new URL(script.src, document.baseURI).origin;
  var counter = 0;

  function build(box) {
    if (box.getAttribute("data-news-search-state")) { return; }  // already built (script included twice)
    var n = ++counter;
    var template = box.getAttribute("data-results-url") || base + "/search?q={q}";
    var limit = String(Math.max(1, Math.min(20, parseInt(box.getAttribute("data-limit") || "8", 10) || 8)));
    var form = document.createElement("form");
    form.setAttribute("role", "search");
    form.className = "nsb-form";
    form.style.position = "relative";
    var input = document.createElement("input");
    input.type = "search";
    input.name = "q";
    input.className = "nsb-input";
    input.autocomplete = "off";
    input.placeholder = box.getAttribute("data-placeholder") || "搜索新闻";
    input.setAttribute("aria-label", input.placeholder);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", "nsb-list-" + n);
    var button = document.createElement("button");
    button.type = "submit";
    button.className = "nsb-button";
    button.textContent = box.getAttribute("data-button") || "搜索";
    var list = document.createElement("ul");
    list.id = "nsb-list-" + n;
    list.className = "nsb-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    // CSSOM assignments, not style attributes: allowed under the host page's CSP.
    list.style.position = "absolute";
    list.style.left = "0";
    list.style.right = "0";
    list.style.zIndex = "1000";
    list.style.margin = "0";
    list.style.padding = "0";
    list.style.listStyle = "none";
    list.style.background = "#fff";
    list.style.border = "1px solid #ccc";
    form.appendChild(input);
    form.appendChild(button);
    form.appendChild(list);
    box.appendChild(form);

    var words = [], active = -1, seq = 0, timer = null;

    function go(q) {
      q = q.trim();
      if (!q) { return; }
      window.location.href = template.split("{q}").join(encodeURIComponent(q));
    }

    function hide() {
      list.hidden = true;
      list.textContent = "";
      words = [];
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function mark(i) {
      for (var k = 0; k < list.children.length; k++) {
        list.children[k].setAttribute("aria-selected", k === i ? "true" : "false");
        list.children[k].style.background = k === i ? "#eef3fb" : "";
      }
      active = i;
      if (i >= 0) { input.setAttribute("aria-activedescendant", list.children[i].id); }
    }

    function render(found) {
      hide();
      words = found;
      found.forEach(function (word, i) {
        var item = document.createElement("li");
        item.id = "nsb-list-" + n + "-" + i;
        item.className = "nsb-item";
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.style.padding = "4px 8px";
        item.style.cursor = "pointer";
        item.textContent = word;
        item.addEventListener("mousedown", function (ev) { ev.preventDefault(); go(word); });
        list.appendChild(item);
      });
      if (found.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      }
    }

    function suggest() {
      var text = input.value.trim();
      var mine = ++seq;
      if (!text) { hide(); return; }
      var url = base + "/api/suggest?" + new URLSearchParams({ q: text, limit: limit }).toString();
      fetch(url, { mode: "cors", credentials: "omit", headers: { Accept: "application/json" } })
        .then(function (resp) { return resp.ok ? resp.json() : null; })
        .then(function (data) {
          box.setAttribute("data-news-search-state", "ready");
          if (mine === seq && document.activeElement === input) {
            render(data && data.ok && Array.isArray(data.suggestions) ? data.suggestions : []);
          }
        })
        .catch(function () {  // refused by CORS or unreachable: the box still searches
          box.setAttribute("data-news-search-state", "unavailable");
          hide();
        });
    }

    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(suggest, 120); });
    input.addEventListener("keydown", function (ev) {
      if (list.hidden || !words.length) { return; }
      if (ev.key === "ArrowDown") { ev.preventDefault(); mark((active + 1) % words.length); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); mark(active <= 0 ? words.length - 1 : active - 1); }
      else if (ev.key === "Escape") { hide(); }
      else if (ev.key === "Enter" && active >= 0) { ev.preventDefault(); go(words[active]); }
    });
    input.addEventListener("blur", function () { setTimeout(hide, 150); });
    form.addEventListener("submit", function (ev) { ev.preventDefault(); go(input.value); });
    box.setAttribute("data-news-search-state", "built");
  }

  function start() {
    var boxes = document.querySelectorAll("[data-news-search]");
    for (var i = 0; i < boxes.length; i++) { build(boxes[i]); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
}());
