// The related use cases picker and the similar use cases panel of the use case admin form
// (registry/admin_related.py). The textarea of "AGENCY uid kind" lines stays the posted value;
// this script only writes it. Data from the server reaches the page through textContent only.
"use strict";

(function () {
  const SEARCH_DELAY_MS = 250;
  const SIMILAR_DELAY_MS = 400;

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function readJson(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  // Calls fn(signal) delay ms after the last call; each call aborts the request still running,
  // so typing never waits on the server and a late answer never overwrites a newer one.
  function debounced(delay, fn) {
    let timer = null;
    let controller = null;
    return function () {
      clearTimeout(timer);
      if (controller) controller.abort();
      controller = new AbortController();
      const signal = controller.signal;
      timer = setTimeout(function () {
        fn(signal);
      }, delay);
    };
  }

  function getJson(url, params, signal) {
    const query = new URLSearchParams(params).toString();
    return fetch(url + "?" + query, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      signal: signal,
    }).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    });
  }

  function kindButtons(kinds, labels, onPick) {
    const group = element("span", "related-kind-buttons");
    kinds.forEach(function (kind) {
      const button = element("button", "button related-kind-button", labels[kind] || kind);
      button.type = "button";
      button.dataset.kind = kind;
      button.addEventListener("click", function () {
        onPick(kind, button);
      });
      group.append(button);
    });
    return group;
  }

  function Picker(root) {
    const textarea = root.querySelector("textarea");
    const list = root.querySelector(".related-rows");
    const empty = root.querySelector(".related-empty");
    const kinds = readJson("related-kinds") || [];
    const labels = Object.fromEntries(kinds);
    const enhanced = !root.hasAttribute("data-fallback");
    let rows = readJson("related-initial") || [];

    function write() {
      textarea.value = rows
        .map(function (row) {
          return row.origin + " " + row.uid + " " + row.kind;
        })
        .join("\n");
    }

    function kindSelect(row) {
      const select = element("select", "related-kind");
      select.setAttribute("aria-label", "Kind of relation");
      kinds.forEach(function (pair) {
        const option = element("option", "", pair[1]);
        option.value = pair[0];
        select.append(option);
      });
      select.value = row.kind;
      select.addEventListener("change", function () {
        row.kind = select.value;
        write();
      });
      return select;
    }

    function rowElement(row) {
      const item = element("li", "related-row");
      item.dataset.origin = row.origin;
      item.dataset.uid = row.uid;
      if (row.title) {
        const link = element("a", "related-title", row.title);
        link.href = row.url;
        item.append(link, element("span", "related-agency", row.agency + " (" + row.origin + ")"));
      } else {
        item.classList.add("related-row-unknown");
        item.append(
          element("span", "related-title", row.origin + " " + row.uid),
          element("span", "related-agency", "not in this node's view"),
        );
      }
      const remove = element("button", "button related-remove", "Remove");
      remove.type = "button";
      remove.setAttribute("aria-label", "Remove " + (row.title || row.uid));
      remove.addEventListener("click", function () {
        rows = rows.filter(function (other) {
          return other !== row;
        });
        render();
        write();
        const search = document.getElementById("related-search");
        if (search) search.focus();
      });
      item.append(kindSelect(row), remove);
      return item;
    }

    function render() {
      list.replaceChildren.apply(list, rows.map(rowElement));
      empty.hidden = rows.length > 0;
    }

    this.labels = labels;
    // Adds the relation (or changes its kind when that use case is listed already).
    this.add = function (item, kind) {
      if (!enhanced) {
        const line = item.origin + " " + item.uid + " " + kind;
        textarea.value = textarea.value.trim() ? textarea.value.trim() + "\n" + line : line;
        return;
      }
      const existing = rows.find(function (row) {
        return row.origin === item.origin && row.uid === item.uid;
      });
      if (existing) {
        existing.kind = kind;
      } else {
        rows.push({
          origin: item.origin,
          uid: item.uid,
          kind: kind,
          title: item.title,
          agency: item.agency,
          url: item.url,
        });
      }
      render();
      write();
    };

    if (!enhanced) return;
    textarea.hidden = true;
    root.querySelectorAll(".related-summary").forEach(function (node) {
      node.hidden = true;
    });
    list.hidden = false;
    render();
  }

  function setUpSearch(root, picker) {
    const url = root.dataset.searchUrl;
    const input = document.getElementById("related-search");
    const results = document.getElementById("related-results");
    const box = root.querySelector(".related-add");
    if (!url || !input || root.hasAttribute("data-fallback")) return;
    box.hidden = false;
    const kinds = Object.keys(picker.labels);

    function show(found) {
      results.replaceChildren();
      if (found.length === 0) {
        results.append(element("li", "related-no-result", "No use case found."));
        return;
      }
      found.forEach(function (item) {
        const entry = element("li", "related-result");
        entry.dataset.origin = item.origin;
        entry.dataset.uid = item.uid;
        entry.append(
          element("span", "related-result-title", item.title),
          element("span", "related-agency", item.agency + " (" + item.origin + ")"),
          kindButtons(kinds, picker.labels, function (kind) {
            picker.add(item, kind);
            results.replaceChildren();
            input.value = "";
            input.focus();
          }),
        );
        results.append(entry);
      });
    }

    const search = debounced(SEARCH_DELAY_MS, function (signal) {
      const q = input.value.trim();
      if (q.length < 2) {
        results.replaceChildren();
        return;
      }
      getJson(url, { q: q, exclude: root.dataset.exclude }, signal)
        .then(function (data) {
          show(data.results);
        })
        .catch(function () {});
    });
    input.addEventListener("input", search);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") event.preventDefault(); // never submits the whole form
    });
  }

  function setUpSimilar(root, picker) {
    const url = root.dataset.similarUrl;
    const title = document.getElementById("id_title");
    if (!url || !title) return;
    const fields = ["id_title", "id_title_en", "id_summary"]
      .map(function (id) {
        return document.getElementById(id);
      })
      .filter(Boolean);
    const kinds = readJson("related-similar-kinds") || [];
    const panel = element("section", "similar-use-cases");
    panel.id = "similar-use-cases";
    panel.setAttribute("aria-live", "polite");
    panel.hidden = true;
    const heading = element("h3", "", "Similar use cases in this node");
    const help = element(
      "p",
      "help",
      "Is one of them the same work? Record the relation with one click (then save).",
    );
    const list = element("ul", "similar-list");
    panel.append(heading, help, list);
    const row = title.closest(".form-row") || title.parentNode;
    row.after(panel);
    let asked = null;

    function show(found) {
      list.replaceChildren();
      panel.hidden = found.length === 0;
      found.forEach(function (item) {
        const entry = element("li", "similar-use-case");
        entry.dataset.origin = item.origin;
        entry.dataset.uid = item.uid;
        const link = element("a", "similar-title", item.title);
        link.href = item.url;
        link.target = "_blank";
        link.rel = "noopener";
        const facts = item.agency + " (" + item.origin + ")" + (item.stage ? ", " + item.stage : "");
        const buttons = kindButtons(kinds, picker.labels, function (kind, button) {
          picker.add(item, kind);
          buttons.querySelectorAll("button").forEach(function (other) {
            other.setAttribute("aria-pressed", String(other === button));
          });
        });
        entry.append(link, element("span", "similar-facts", facts), buttons);
        list.append(entry);
      });
    }

    const ask = debounced(SIMILAR_DELAY_MS, function (signal) {
      const params = {
        title: title.value,
        title_en: (document.getElementById("id_title_en") || {}).value || "",
        summary: (document.getElementById("id_summary") || {}).value || "",
        exclude: root.dataset.exclude,
      };
      const key = JSON.stringify(params);
      if (key === asked) return;
      asked = key;
      if ((params.title + params.title_en + params.summary).trim().length < 4) {
        show([]);
        return;
      }
      getJson(url, params, signal)
        .then(function (data) {
          show(data.results);
        })
        .catch(function () {});
    });
    fields.forEach(function (field) {
      field.addEventListener("input", ask);
    });
    if (title.value.trim()) ask();
  }

  function start() {
    const root = document.getElementById("related-picker");
    if (!root) return;
    const picker = new Picker(root);
    setUpSearch(root, picker);
    setUpSimilar(root, picker);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
