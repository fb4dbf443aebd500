// Planner page: the what-if (a click on the map adds a hypothetical site — latitude,
// longitude, beds — to the view's URL; nothing is saved) and the bar chart of the selected
// indicator (Chart.js, served by this app).
// In its page's bundle, before folium's map script: starts once the page is parsed, after
// map-data.js.
window.caremapReady(function () {
  "use strict";

  function whatIf() {
    var map = window.caremapMap && window.caremapMap.map;
    var form = document.getElementById("planner-form");
    if (!map || !form) { return; }
    map.on("click", function (event) {
      var beds = parseInt(document.getElementById("what-if-beds").value, 10) || 0;
      var site = document.createElement("input");
      site.type = "hidden";
      site.name = "add";
      site.value = [event.latlng.lat.toFixed(5), event.latlng.lng.toFixed(5), beds].join(",");
      form.appendChild(site);
      form.requestSubmit ? form.requestSubmit() : form.submit();
    });
  }

  function barChart() {
    var source = document.getElementById("chart-data");
    var canvas = document.getElementById("indicator-chart");
    if (!source || !canvas || !window.Chart) { return; }
    var data = JSON.parse(source.textContent);
    var format = new Intl.NumberFormat(data.locale, { maximumSignificantDigits: 4 });
    window.indicatorChart = new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [{
          label: data.title,
          data: data.values,
          backgroundColor: data.colours,
          borderColor: "#555",
          borderWidth: 1
        }]
      },
      options: {
        indexAxis: "y",
        locale: data.locale,
        animation: false,
        maintainAspectRatio: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (item) { return data.title + ": " + format.format(item.raw); }
            }
          }
        },
        scales: {
          x: { beginAtZero: true, ticks: { callback: function (v) { return format.format(v); } } },
          y: { ticks: { autoSkip: false } }
        }
      }
    });
  }

  // The "switch off" list: the services switched off are in the page; the others are
  // fetched and added after them, each name and detail as text.
  function switchOffList() {
    var list = document.querySelector("fieldset.switch-off[data-url]");
    if (!list) { return; }
    var shown = {};
    list.querySelectorAll("input[name=off]").forEach(function (box) { shown[box.value] = true; });
    fetch(list.getAttribute("data-url"), { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.json() : [];
    }).then(function (services) {
      services.forEach(function (service) {
        if (shown[service.id]) { return; }
        var label = document.createElement("label");
        var box = document.createElement("input");
        box.type = "checkbox";
        box.name = "off";
        box.value = service.id;
        var text = document.createElement("span");
        text.textContent = service.name + " ";
        var detail = document.createElement("span");
        detail.className = "muted";
        detail.textContent = service.detail;
        text.appendChild(detail);
        label.appendChild(box);
        label.appendChild(text);
        list.appendChild(label);
      });
    });
  }

  whatIf();
  barChart();
  switchOffList();
});
