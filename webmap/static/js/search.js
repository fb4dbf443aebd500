// Search page: keep the result list and the map in step, search from a point tapped on the map
// (once "Search here" is pressed) or from the device's location, saying when it is not had. Map and markers are the Leaflet objects drawn by map-data.js
// (window.caremapMap), the markers by the key in each list item's data-marker.
// In its page's bundle, before folium's map script: starts once the page is parsed, after
// map-data.js.
window.caremapReady(function () {
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

  var status = document.getElementById("location-status");
  var origin = form.elements.origin;

  function searchFrom(lat, lon, from) {
    form.elements.near.value = "";
    form.elements.lat.value = lat.toFixed(5);
    form.elements.lon.value = lon.toFixed(5);
    origin.value = from;
    form.requestSubmit ? form.requestSubmit() : form.submit();
  }

  // A tap on the map marks a pending point; "Search here" searches from it.
  var searchHere = document.getElementById("search-here");
  var pending = null;
  if (map && searchHere) {
    map.on("click", function (event) {
      if (pending) { pending.setLatLng(event.latlng); } else {
        pending = L.circleMarker(event.latlng, { radius: 7, color: "#b00020" }).addTo(map);
      }
      searchHere.hidden = false;
    });
    searchHere.addEventListener("click", function () {
      if (pending) { searchFrom(pending.getLatLng().lat, pending.getLatLng().lng, ""); }
    });
  }
  // Typing a place replaces a point chosen before.
  form.elements.near.addEventListener("input", function () {
    form.elements.lat.value = "";
    form.elements.lon.value = "";
    origin.value = "";
  });
  var locate = document.getElementById("use-location");
  if (navigator.geolocation && locate) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      status.textContent = status.dataset.finding;
      navigator.geolocation.getCurrentPosition(function (position) {
        searchFrom(position.coords.latitude, position.coords.longitude, "device");
      }, function (error) {
        status.textContent = error.code === error.PERMISSION_DENIED
          ? status.dataset.refused : status.dataset.unavailable;
      }, { timeout: 15000 });
    });
  }
});
