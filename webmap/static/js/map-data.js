// Draws what a map shows from data (webmap/common/mapview.py MapData, in the page's #map-data JSON)
// into the Leaflet objects folium made: outlines with their tooltips, markers with their
// tooltips and popups. Every text from data goes into the page as text (textContent), never
// as HTML. The markers are then window.caremapMap.markers, by the key the page's list uses.
// In its page's bundle (webmap/common/bundle.py), which runs before folium's map script: it
// starts once the page is parsed.
window.caremapReady(function () {
  "use strict";
  var source = document.getElementById("map-data");
  if (!source || !window.L) { return; }
  var data = JSON.parse(source.textContent);
  var map = window[data.map];
  if (!map) { return; }

  // Leaflet names its buttons in English: name them in the page's language.
  [
    [".leaflet-control-zoom-in", data.text.zoom_in],
    [".leaflet-control-zoom-out", data.text.zoom_out],
    [".leaflet-control-layers-toggle", data.text.layers]
  ].forEach(function (control) {
    var button = map.getContainer().querySelector(control[0]);
    if (button && control[1]) {
      button.title = control[1];
      button.setAttribute("aria-label", control[1]);
    }
  });

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function link(href, text, className) {
    var anchor = element("a", className, text);
    anchor.href = href;
    return anchor;
  }

  function line(child) {
    var div = element("div");
    div.appendChild(child);
    return div;
  }

  // A row per [label, property]; no label cell when the label is null.
  function tooltipTable(rows, properties) {
    var table = element("table");
    rows.forEach(function (row) {
      var tr = element("tr");
      if (row[0] !== null) { tr.appendChild(element("th", null, row[0])); }
      tr.appendChild(element("td", null, properties[row[1]]));
      table.appendChild(tr);
    });
    var div = element("div");
    div.appendChild(table);
    return div;
  }

  // A detail page adds to the history, so that the phone's Back returns to the results.
  function detailLink(href, text, className) {
    var anchor = link(href, text, className);
    anchor.setAttribute("data-history", "push");
    return anchor;
  }

  function popupContent(popup) {
    var box = element("div", "popup");
    box.appendChild(detailLink(popup.url, popup.name, "popup-name"));
    if (popup.types) { box.appendChild(element("div", "popup-types", popup.types)); }
    if (popup.phone_number) {
      box.appendChild(line(link("tel:" + popup.phone_number, popup.phone_display)));
    } else if (popup.phone_display) {
      box.appendChild(element("div", null, popup.phone_display));
    }
    if (popup.withheld) { box.appendChild(element("div", "withheld", data.text.withheld)); }
    if (popup.programmes && popup.programmes.length) {
      box.appendChild(element("div", "popup-also", data.text.programmes));
      var list = element("ul", "popup-programmes");
      popup.programmes.forEach(function (programme) {
        var item = element("li");
        item.appendChild(detailLink(programme.url, programme.name));
        list.appendChild(item);
      });
      box.appendChild(list);
    }
    box.appendChild(line(detailLink(popup.url, data.text.details)));
    return box;
  }

  function drawOutlines(outlines) {
    var layer = L.geoJson(outlines.features, {
      style: function (feature) { return feature.properties.style; }
    });
    layer.bindTooltip(function (shape) {
      return tooltipTable(outlines.tooltip, shape.feature.properties);
    }, { sticky: true, className: "map-tooltip" });
    layer.addTo(window[outlines.group]);
  }

  var icons = {};
  Object.keys(data.icons).forEach(function (kind) {
    icons[kind] = L.AwesomeMarkers.icon(data.icons[kind]);
  });

  function newMarker(point) {
    var marker = L.marker([point.latitude, point.longitude], { icon: icons[point.icon] });
    // Leaflet makes the icon a button; its name is the service's (and distance), as text.
    marker.on("add", function () { marker.getElement().setAttribute("aria-label", point.label); });
    marker.bindTooltip(function () { return element("div", null, point.tooltip); },
                       { sticky: true });
    if (point.popup) {
      marker.bindPopup(function () { return popupContent(point.popup); }, { maxWidth: 320 });
    }
    return marker;
  }

  // A cluster of the server's grid: its count, sized like Leaflet.markercluster's; a click
  // zooms in on it.
  function newCluster(latlng, count) {
    var size = count < 10 ? "small" : count < 100 ? "medium" : "large";
    var html = element("div");
    html.appendChild(element("span", null, count));
    var marker = L.marker(latlng, {
      icon: L.divIcon({ html: html, className: "marker-cluster marker-cluster-" + size,
                        iconSize: L.point(40, 40) }),
      title: data.text.cluster.replace("%(count)s", count)
    });
    marker.on("click", function () { map.setView(latlng, map.getZoom() + 2); });
    return marker;
  }

  if (data.outlines && data.outlines.url) {
    fetch(data.outlines.url, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.json() : [];
    }).then(function (answer) {  // features, or a FeatureCollection of them
      drawOutlines({ group: data.outlines.group, tooltip: data.outlines.tooltip,
                     features: Array.isArray(answer) ? answer : answer.features });
    });
  } else if (data.outlines) {
    drawOutlines(data.outlines);
  }
  var markers = {};
  var group = window[data.points_group];
  function draw(points) {
    points.forEach(function (point) {
      var marker = newMarker(point);
      markers[point.key] = marker;
      marker.addTo(group);
    });
  }
  draw(data.points);
  window.caremapMap = { map: map, markers: markers };

  // Browsing: the points of each view come from data.points_url (clusters, then markers);
  // a view already asked for (the end of the opening zoom) is not asked again. The opening
  // view asks for data.opening.url, which the page preloads, when the map has its zoom.
  var asked = 0, lastUrl = null;
  function fetchView() {
    var bounds = map.getBounds();
    var box = [Math.max(bounds.getWest(), -180), Math.max(bounds.getSouth(), -90),
               Math.min(bounds.getEast(), 180), Math.min(bounds.getNorth(), 90)];
    var url = data.points_url + (data.points_url.indexOf("?") < 0 ? "?" : "&") +
      "bbox=" + box.map(function (n) { return n.toFixed(5); }).join(",") +
      "&zoom=" + map.getZoom();
    if (url === lastUrl) { return; }
    var opening = asked === 0 && data.opening && data.opening.zoom === map.getZoom();
    lastUrl = url;
    var number = ++asked;
    var asking = opening ? data.opening.url : url;
    fetch(asking, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (answer) {
      if (number !== asked) { return; }
      if (!answer) { lastUrl = null; return; }
      group.clearLayers();
      Object.keys(markers).forEach(function (key) { delete markers[key]; });
      var points = [];
      answer.features.forEach(function (feature) {
        var c = feature.geometry.coordinates;  // GeoJSON: (lon, lat)
        if (feature.properties.point) {
          points.push(feature.properties.point);
        } else {
          newCluster(L.latLng(c[1], c[0]), feature.properties.count).addTo(group);
        }
      });
      draw(points);
      map.fire("caremap:points");
    });
  }
  if (data.points_url) {
    map.on("moveend", fetchView);
    // In the next frame, after Leaflet's: folium's fitBounds, when animated, starts then, and
    // until it does the map still has folium's opening zoom.
    L.Util.requestAnimFrame(fetchView);
  }
});
