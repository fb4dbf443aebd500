// The location edit form's map: a draggable marker on the location's exact point. "Find on
// map" asks the app's own geocoder (/edit/geocode) for the typed address; accepting its answer
// or dragging the marker fills the hidden latitude/longitude fields (a dragged point is
// "manual"). Without JavaScript the form still works: the address is geocoded on submit.
(function () {
  "use strict";
  var box = document.getElementById("location-map");
  if (!box || !window.L) { return; }
  var lat = document.getElementById("latitude");
  var lon = document.getElementById("longitude");
  var precision = document.getElementById("precision");
  var status = document.getElementById("point-status");
  var find = document.getElementById("find-on-map");
  box.hidden = false;

  var start = [parseFloat(lat.value), parseFloat(lon.value)];
  var map = L.map(box, { center: start, zoom: 15, scrollWheelZoom: false });
  var tiles = box.dataset.tiles;
  function showTiles() {
    L.tileLayer(tiles, { attribution: box.dataset.attribution, maxZoom: 19 }).addTo(map);
  }
  if (tiles && !box.dataset.confidential) {
    showTiles();
  } else if (tiles) {
    var warning = document.getElementById("tiles-warning");
    warning.hidden = false;
    document.getElementById("show-tiles").addEventListener("click", function () {
      showTiles();
      warning.hidden = true;
    });
  }
  var marker = L.marker(start, { draggable: true, autoPan: true, keyboard: true }).addTo(map);

  function put(latitude, longitude, how, text) {
    lat.value = String(latitude);
    lon.value = String(longitude);
    precision.value = how;
    status.textContent = text;
  }
  function rounded(value) { return Math.round(value * 1e6) / 1e6; }

  marker.on("dragend", function () {
    var point = marker.getLatLng();
    var latitude = rounded(point.lat), longitude = rounded(point.lng);
    put(latitude, longitude, "manual",
        latitude.toFixed(6) + ", " + longitude.toFixed(6) + " (" + box.dataset.manual + ")");
  });

  function address() {
    var value = function (name) { return (document.getElementById(name).value || "").trim(); };
    var last = [value("province"), value("postal_code")].filter(Boolean).join(" ");
    return [value("street"), value("city"), last].filter(Boolean).join(", ");
  }

  find.addEventListener("click", function (event) {
    event.preventDefault();
    var url = box.dataset.geocode + "?q=" + encodeURIComponent(address());
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (answer) {
        if (!answer.ok) { status.textContent = answer.body.message; return; }
        var found = answer.body;
        marker.setLatLng([found.latitude, found.longitude]);
        map.setView([found.latitude, found.longitude], 15, { animate: false });
        put(found.latitude, found.longitude, found.precision, found.text);
      });
  });
})();
