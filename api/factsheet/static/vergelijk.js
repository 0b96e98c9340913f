// Sorting, filtering and column choice for the wijk comparison page.
// No dependencies and no inline code: the page loads this file, so that a
// Content-Security-Policy of default-src 'self' suffices. Without JavaScript
// the full table is still there; the controls stay hidden.
(function () {
  "use strict";

  var table = document.getElementById("vergelijking");
  var form = document.getElementById("bediening");
  if (!table || !form) {
    return;
  }
  form.hidden = false;
  form.addEventListener("submit", function (event) { event.preventDefault(); });

  var body = table.tBodies[0];
  var headerRow = table.tHead.rows[0];
  var referenceRows = Array.prototype.slice.call(table.tHead.rows, 1);
  var search = document.getElementById("zoek");
  var onlyFigures = document.getElementById("alleen-cijfers");
  var status = document.getElementById("status");
  var mode = "percentage";
  var sortKey = null;
  var sortDir = 1;

  function header(key) {
    return headerRow.querySelector('th[data-kolom="' + key + '"]');
  }

  function number(text) {
    return text === undefined || text === "" ? null : parseFloat(text);
  }

  // Dutch notation: decimal comma, a real minus sign for differences.
  function format(value, signed) {
    if (value === null || isNaN(value)) {
      return "–";
    }
    var text = Math.abs(value).toFixed(1).replace(".", ",");
    if (!signed) {
      return text + "%";
    }
    var sign = value > 0.05 ? "+" : value < -0.05 ? "−" : "±";
    return sign + text;
  }

  // The number a cell shows (and sorts on) in the current mode.
  function shown(cell) {
    var value = number(cell.getAttribute("data-waarde"));
    if (value === null || mode === "percentage") {
      return value;
    }
    var ref = number(header(cell.getAttribute("data-kolom")).getAttribute("data-" + mode));
    return ref === null ? null : value - ref;
  }

  function render() {
    var rows = referenceRows.concat(Array.prototype.slice.call(body.rows));
    rows.forEach(function (row) {
      Array.prototype.forEach.call(row.querySelectorAll("td[data-kolom]"), function (cell) {
        var value = shown(cell);
        var out = cell.querySelector(".waarde");
        out.textContent = format(value, mode !== "percentage");
        out.classList.toggle("positief", mode !== "percentage" && value !== null && value > 0.05);
        out.classList.toggle("negatief", mode !== "percentage" && value !== null && value < -0.05);
      });
    });
  }

  function sortBy(key) {
    if (sortKey === key) {
      sortDir = -sortDir;
    } else {
      sortKey = key;
      // Names A-Z first; figures highest first, which is what people look for.
      sortDir = key === "naam" ? 1 : -1;
    }
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      if (key === "naam") {
        var an = a.cells[0].textContent.trim();
        var bn = b.cells[0].textContent.trim();
        return sortDir * an.localeCompare(bn, "nl", { numeric: true });
      }
      var av = shown(a.querySelector('td[data-kolom="' + key + '"]'));
      var bv = shown(b.querySelector('td[data-kolom="' + key + '"]'));
      // Wijken without a figure always go last, whatever the direction.
      if (av === null && bv === null) {
        return a.getAttribute("data-code").localeCompare(b.getAttribute("data-code"));
      }
      if (av === null) {
        return 1;
      }
      if (bv === null) {
        return -1;
      }
      return sortDir * (av - bv) || a.getAttribute("data-code").localeCompare(b.getAttribute("data-code"));
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(headerRow.cells, function (th) {
      var button = th.querySelector("button");
      var mine = button && button.getAttribute("data-sorteer") === key;
      th.setAttribute("aria-sort", mine ? (sortDir === 1 ? "ascending" : "descending") : "none");
    });
    announce();
  }

  function visibleColumns() {
    return Array.prototype.filter.call(form.querySelectorAll('input[name="kolom"]'), function (box) {
      return box.checked;
    }).map(function (box) { return box.value; });
  }

  function filter() {
    var query = search.value.trim().toLowerCase();
    var columns = visibleColumns();
    Array.prototype.forEach.call(body.rows, function (row) {
      var nameOk = query === "" || row.getAttribute("data-naam").indexOf(query) !== -1;
      var hasFigure = columns.some(function (key) {
        var cell = row.querySelector('td[data-kolom="' + key + '"]');
        return cell && cell.getAttribute("data-waarde") !== "";
      });
      row.hidden = !(nameOk && (!onlyFigures.checked || hasFigure));
    });
    announce();
  }

  function showColumns() {
    var columns = visibleColumns();
    Array.prototype.forEach.call(table.querySelectorAll("[data-kolom]"), function (el) {
      el.hidden = columns.indexOf(el.getAttribute("data-kolom")) === -1;
    });
    filter();
  }

  function announce() {
    var visible = Array.prototype.filter.call(body.rows, function (row) { return !row.hidden; });
    var text = visible.length + " van de " + body.rows.length + " wijken zichtbaar";
    if (sortKey) {
      var label = sortKey === "naam" ? "naam" : header(sortKey).querySelector("button").textContent;
      text += ", gesorteerd op " + label.trim() + (sortDir === 1 ? " (oplopend)" : " (aflopend)");
    }
    status.textContent = text + ".";
  }

  Array.prototype.forEach.call(headerRow.querySelectorAll("button[data-sorteer]"), function (button) {
    button.addEventListener("click", function () { sortBy(button.getAttribute("data-sorteer")); });
  });
  search.addEventListener("input", filter);
  onlyFigures.addEventListener("change", filter);
  Array.prototype.forEach.call(form.querySelectorAll('input[name="kolom"]'), function (box) {
    box.addEventListener("change", showColumns);
  });
  Array.prototype.forEach.call(form.querySelectorAll('input[name="weergave"]'), function (radio) {
    radio.addEventListener("change", function () {
      mode = radio.value;
      render();
      if (sortKey && sortKey !== "naam") {
        sortDir = -sortDir; // sortBy flips it back: keep the direction, re-sort on new numbers
        sortBy(sortKey);
      }
    });
  });
  announce();
})();

// The wijk map next to the table: choose which column it shows, and light up a wijk in both
// when it is pointed at (mouse) or focused (keyboard) in either.
(function () {
  "use strict";

  var panel = document.querySelector(".kaartpaneel");
  var table = document.getElementById("vergelijking");
  if (!panel || !table) {
    return;
  }
  var figures = Array.prototype.slice.call(panel.querySelectorAll("figure[data-kaart]"));
  var choice = document.getElementById("kaartkeuze");
  var field = document.getElementById("kaartkeuze-veld");

  function show(key) {
    figures.forEach(function (figure) {
      figure.hidden = figure.getAttribute("data-kaart") !== key;
    });
  }

  function visibleFigure() {
    for (var i = 0; i < figures.length; i++) {
      if (!figures[i].hidden) {
        return figures[i];
      }
    }
    return null;
  }

  function rowsOf(area) {
    var codes = area.getAttribute("data-wijken").split(";");
    return codes.map(function (code) {
      return table.querySelector('tbody tr[data-code="' + code + '"]');
    }).filter(function (row) { return row !== null; });
  }

  function areaOf(code) {
    var figure = visibleFigure();
    if (!figure) {
      return null;
    }
    var areas = figure.querySelectorAll("path.gebied");
    for (var i = 0; i < areas.length; i++) {
      if (areas[i].getAttribute("data-wijken").split(";").indexOf(code) !== -1) {
        return areas[i];
      }
    }
    return null;
  }

  function clear() {
    Array.prototype.forEach.call(table.querySelectorAll("tr.uitgelicht"), function (row) {
      row.classList.remove("uitgelicht");
    });
    Array.prototype.forEach.call(panel.querySelectorAll("path.gebied.uitgelicht"), function (a) {
      a.classList.remove("uitgelicht");
    });
    Array.prototype.forEach.call(panel.querySelectorAll("path.markering"), function (m) {
      m.removeAttribute("d");
    });
  }

  function light(area) {
    clear();
    if (!area) {
      return;
    }
    area.classList.add("uitgelicht");
    var marker = area.ownerSVGElement.querySelector("path.markering");
    if (marker) {
      marker.setAttribute("d", area.getAttribute("d"));
    }
    rowsOf(area).forEach(function (row) { row.classList.add("uitgelicht"); });
  }

  figures.forEach(function (figure) {
    Array.prototype.forEach.call(figure.querySelectorAll("path.gebied"), function (area) {
      area.addEventListener("mouseenter", function () { light(area); });
      area.addEventListener("focus", function () { light(area); });
      area.addEventListener("mouseleave", clear);
      area.addEventListener("blur", clear);
    });
  });
  Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
    var code = row.getAttribute("data-code");
    function on() {
      var area = areaOf(code);
      light(area);
      row.classList.add("uitgelicht");
    }
    row.addEventListener("mouseenter", on);
    row.addEventListener("focusin", on);
    row.addEventListener("mouseleave", clear);
    row.addEventListener("focusout", clear);
  });

  if (choice && figures.length > 1) {
    field.hidden = false;
    choice.addEventListener("change", function () {
      clear();
      show(choice.value);
    });
    show(choice.value);
  }
})();
