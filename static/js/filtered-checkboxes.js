/* common.forms.FilteredCheckboxes: filters a long list of checkboxes as one types and
   lists the ticked ones above it. The page works without this file: the checkboxes
   are all there, and the server lists what was chosen when it made the page. Loaded
   as a file of the site (the Content Security Policy allows no inline script). */
(function () {
  "use strict";

  // Compare without case or accents: "cote" finds "Côte d'Ivoire".
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function enhance(widget) {
    var filter = widget.querySelector("[data-filter]");
    var none = widget.querySelector("[data-none]");
    var list = widget.querySelector("[data-chosen-list]");
    var noMatch = widget.querySelector("[data-no-match]");
    var boxes = Array.prototype.slice.call(widget.querySelectorAll("input[type=checkbox]"));
    var options = boxes.map(function (box) {
      var label = box.closest("label");
      return {
        box: box,
        row: box.closest("div"),
        name: label ? label.textContent.trim() : box.value,
        folded: fold(label ? label.textContent : box.value)
      };
    });

    function showChosen() {
      var chosen = options.filter(function (option) { return option.box.checked; });
      list.replaceChildren.apply(list, chosen.map(function (option) {
        var item = document.createElement("li");
        item.textContent = option.name;
        return item;
      }));
      none.hidden = chosen.length > 0;
    }

    function applyFilter() {
      var wanted = fold(filter.value.trim());
      var shown = 0;
      options.forEach(function (option) {
        var match = option.folded.indexOf(wanted) !== -1;
        option.row.hidden = !match;
        shown += match ? 1 : 0;
      });
      noMatch.hidden = shown > 0;
    }

    filter.hidden = false;
    filter.addEventListener("input", applyFilter);
    // Enter in the filter box would send the form half-filled; it ticks the only
    // country left instead, if the filter leaves just one.
    filter.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault();
      var visible = options.filter(function (option) { return !option.row.hidden; });
      if (visible.length === 1) {
        visible[0].box.checked = !visible[0].box.checked;
        showChosen();
      }
    });
    widget.addEventListener("change", showChosen);
    showChosen();
  }

  function start() {
    document.querySelectorAll("[data-filtered-checkboxes]").forEach(enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
