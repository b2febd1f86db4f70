// Draw each chart of the report when it scrolls near the screen: a long session has a hundred charts
// and a phone should not lay them all out before the first one shows.
(function () {
  var config = JSON.parse(document.getElementById("plot-config").textContent);
  var plots = Array.prototype.slice.call(document.querySelectorAll("div.plot"));
  function draw(div) {
    if (div.dataset.drawn) return;
    div.dataset.drawn = "1";
    var fig = JSON.parse(document.getElementById(div.id + "-data").textContent);
    Plotly.newPlot(div, fig.data, fig.layout, config);
  }
  window.addEventListener("beforeprint", function () { plots.forEach(draw); });
  if (!("IntersectionObserver" in window)) { plots.forEach(draw); return; }
  var seen = new IntersectionObserver(function (entries) {
    entries.forEach(function (e) {
      if (e.isIntersecting) { seen.unobserve(e.target); draw(e.target); }
    });
  }, { rootMargin: "600px 0px" });
  plots.forEach(function (div) { seen.observe(div); });
})();
