// A click on a bar or column of a chart (catalogue/charts.py) opens the catalogue filtered to
// it. The charts' data tables hold the same addresses as links, for keyboards and screen readers.
document.addEventListener("click", (event) => {
  const target = event.target.closest("svg.chart [data-href]");
  if (!target) return;
  const href = target.getAttribute("data-href");
  if (event.ctrlKey || event.metaKey || event.button === 1) {
    window.open(href, "_blank", "noopener");
  } else {
    window.location.assign(href);
  }
});
