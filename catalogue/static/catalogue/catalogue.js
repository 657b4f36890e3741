/* The catalogue page's filters apply at once. A change to a facet, the sort order or the search
   fetches the facets and results alone for the new query string (catalogue:results, rendered by
   the server) and swaps them into the page; the address follows every change (history.pushState),
   so it can be shared and the Back button restores the previous results (popstate). Without
   JavaScript the form's own buttons do the same with a full page load.
   On narrow screens the filters fold into a panel above the results. */
(function () {
  "use strict";

  var form = document.querySelector("form[data-results-url]");
  if (!form || !window.fetch || !window.history.pushState || !window.URLSearchParams) {
    return;
  }
  var resultsUrl = form.getAttribute("data-results-url");
  var panel = form.querySelector("details.filter-panel");
  var narrow = window.matchMedia("(max-width: 48rem)");
  var status = document.getElementById("results-status");
  var showResults = form.querySelector(".show-results");
  var pending = null;

  document.documentElement.classList.add("js");
  showResults.hidden = false;

  // The query string the form stands for; an empty search and the default order are left out,
  // as the server reads them the same way. The chosen filters without a box (a date range from
  // a statistics chart, sourcing...) are hidden inputs in the form, so a tick keeps them.
  function formQuery() {
    var params = new URLSearchParams();
    var ticked = {};
    form.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
      ticked[box.name] = true;
    });
    new FormData(form).forEach(function (value, name) {
      if (name === "search" && !value.trim()) return;
      if (name === "sort" && value === "relevance") return;
      params.append(name, value);
    });
    // A ticked box replaces a kept value of its own filter (review_overdue=0, then the
    // "Review overdue" box): a yes/no filter takes one value.
    form.querySelectorAll("input[type=hidden][name]").forEach(function (kept) {
      if (!ticked[kept.name]) return;
      var values = params.getAll(kept.name).filter(function (value) { return value !== kept.value; });
      params.delete(kept.name);
      values.forEach(function (value) { params.append(kept.name, value); });
    });
    return params.toString();
  }

  function pageAddress(query) {
    return form.getAttribute("action") + (query ? "?" + query : "");
  }

  function load(query, options) {
    if (pending) pending.abort();
    pending = new AbortController();
    form.setAttribute("aria-busy", "true");
    return fetch(resultsUrl + (query ? "?" + query : ""), {
      signal: pending.signal,
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        if (options.push) history.pushState({ catalogue: query }, "", pageAddress(query));
        swap(html, options);
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        // A refused query (400) or a lost connection: the full page says what went wrong.
        window.location.assign(pageAddress(query));
      })
      .finally(function () {
        form.removeAttribute("aria-busy");
      });
  }

  function swap(html, options) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var focusedId = document.activeElement ? document.activeElement.id : "";
    var scrolls = {};
    form.querySelectorAll("[data-scroll-key]").forEach(function (list) {
      scrolls[list.getAttribute("data-scroll-key")] = list.scrollTop;
    });
    fresh.querySelectorAll("[data-swap]").forEach(function (part) {
      var current = document.getElementById(part.id);
      if (current) current.replaceWith(document.adoptNode(part));
    });
    form.querySelectorAll("[data-scroll-key]").forEach(function (list) {
      list.scrollTop = scrolls[list.getAttribute("data-scroll-key")] || 0;
    });
    var region = document.getElementById("results-region");
    document.title = region.getAttribute("data-title");
    document.getElementById("filter-chosen").textContent = region.getAttribute("data-chosen");
    status.textContent = region.querySelector(".total").textContent.trim();
    showResults.textContent = region.getAttribute("data-show");
    var focused = focusedId && !options.toResults ? document.getElementById(focusedId) : null;
    if (focused) {
      focused.focus({ preventScroll: true });
    } else if (options.toResults) {
      document.getElementById("results-heading").focus();
    }
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "search") return; // typed text waits for Enter or Search
    load(formQuery(), { push: true });
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    load(formQuery(), { push: true, toResults: narrow.matches });
  });

  // Links that stay on this page (remove a filter, clear all, next page) load the same way.
  form.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-apply], .pagination a");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    var target = new URL(link.href, window.location.href);
    if (target.pathname !== form.getAttribute("action")) return;
    event.preventDefault();
    syncSearchBox(target.search);
    load(target.search.slice(1), { push: true, toResults: true });
  });

  window.addEventListener("popstate", function () {
    syncSearchBox(window.location.search);
    load(window.location.search.slice(1), { push: false });
  });

  function syncSearchBox(search) {
    form.elements.search.value = new URLSearchParams(search).get("search") || "";
  }

  // Beside the results the panel stays open: its heading is no switch there.
  panel.querySelector("summary").addEventListener("click", function (event) {
    if (!narrow.matches) event.preventDefault();
  });

  showResults.addEventListener("click", function () {
    panel.open = false;
    document.getElementById("results-heading").focus();
  });

  // Open beside the results on wide screens, folded above them on narrow ones.
  function fitPanel() {
    panel.open = !narrow.matches;
  }
  fitPanel();
  narrow.addEventListener("change", fitPanel);
  history.replaceState({ catalogue: formQuery() }, "", window.location.href);
})();
