// Search page: keep the result list and the map in step, search from a click on the map or
// from the device's location. Map and markers are the Leaflet objects drawn by map-data.js
// (window.caremapMap), the markers by the key in each list item's data-marker.
(function () {
  "use strict";
  var drawn = window.caremapMap || { map: null, markers: {} };
  var map = drawn.map;
  var form = document.getElementById("search-form");
  var items = document.querySelectorAll("#results [data-marker]");

  function markerOf(item) { return drawn.markers[item.dataset.marker]; }

  function select(item, on) {
    var marker = markerOf(item);
    item.classList.toggle("selected", on);
    if (!marker) { return; }
    if (marker._icon) { marker._icon.classList.toggle("marker-selected", on); }
    if (on) { marker.openTooltip(); } else { marker.closeTooltip(); }
  }

  items.forEach(function (item) {
    item.addEventListener("mouseenter", function () { select(item, true); });
    item.addEventListener("mouseleave", function () { select(item, false); });
    item.addEventListener("focusin", function () { select(item, true); });
    item.addEventListener("focusout", function () { select(item, false); });
    var marker = markerOf(item);
    if (marker) {
      marker.on("click", function () {
        items.forEach(function (other) { other.classList.remove("selected"); });
        item.classList.add("selected");
        item.scrollIntoView({ block: "nearest" });
      });
    }
  });

  function searchFrom(lat, lon) {
    form.elements.near.value = "";
    form.elements.lat.value = lat.toFixed(5);
    form.elements.lon.value = lon.toFixed(5);
    form.requestSubmit ? form.requestSubmit() : form.submit();
  }

  if (map) {
    map.on("click", function (event) { searchFrom(event.latlng.lat, event.latlng.lng); });
  }
  // Typing a place replaces a point chosen before.
  form.elements.near.addEventListener("input", function () {
    form.elements.lat.value = "";
    form.elements.lon.value = "";
  });
  var locate = document.getElementById("use-location");
  if (navigator.geolocation && locate) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (position) {
        searchFrom(position.coords.latitude, position.coords.longitude);
      });
    });
  }
})();
