// The export page: "with evaluator" adds ?evaluator=1 to the ratings links.
// A file, not inline: the pages' Content-Security-Policy allows scripts from this host only.
document.getElementById("with-evaluator").addEventListener("change", function (e) {
  document.querySelectorAll('a[href^="/export/ratings."]').forEach(function (a) {
    a.href = a.href.split("?")[0] + (e.target.checked ? "?evaluator=1" : "");
  });
});
