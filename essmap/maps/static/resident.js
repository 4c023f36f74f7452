/*
 * essmap resident map: QPV outlines by generation, actors by category with clustering,
 * category filter, nearest supply points from a click or from "locate me", unlocated actors.
 * Rendering only: every figure shown comes from the page's data block.
 */
(function (global) {
  'use strict';

  var Essmap = global.Essmap;
  var h = Essmap.escapeHtml;
  var SPIDER_MAX = 60;

  /* ---------------------------------------------------------------- actors table */

  function Actors(data) {
    var t = data.actors;
    this.n = t.n;
    this.lon = Essmap.decodeCoordinates(t.lon, data.coordScale);
    this.lat = Essmap.decodeCoordinates(t.lat, data.coordScale);
    this.cols = {};
    for (var name in t.cols) {
      if (Object.prototype.hasOwnProperty.call(t.cols, name)) {
        this.cols[name] = Essmap.decodeColumn(t.cols[name], t.n);
      }
    }
    this.category = this.cols.category;
  }

  Actors.prototype.get = function (i, name) {
    var col = this.cols[name];
    return col ? col[i] : null;
  };

  /* ---------------------------------------------------------------- popups */

  function actorPopup(ctx, record) {
    var cat = record.category;
    var label = ctx.labels[cat] || cat;
    var parts = ['<div class="essmap-popup" data-actor-id="' + h(record.id) + '">'];
    parts.push('<h3 class="essmap-popup-title">' + h(record.name) + '</h3>');
    parts.push('<p class="essmap-popup-category">' + Essmap.categorySymbol(cat, 'essmap-symbol-small') + ' ' + h(label) + '</p>');
    var precision = record.location_precision;
    if (record.location_approximate === 'True') {
      parts.push('<p class="essmap-warning" role="note"><strong>\u26a0 Localisation approximative</strong> (précision : ' +
        h(ctx.data.precisionLabels[precision] || precision) + ') : ' +
        h(ctx.data.precisionNotes[precision] || ctx.data.precisionNotes.placed) +
        (record.coordinates_source ? '<br><small>' + h(record.coordinates_source) + '</small>' : '') + '</p>');
    }
    parts.push('<dl class="essmap-fields">');
    var address = record.address || '';
    if (record.commune && address.indexOf(record.commune) < 0) {
      address = address ? address + ', ' + record.commune : record.commune;
    }
    parts.push('<dt>Adresse</dt><dd>' + (address ? h(address) : '<em>non renseignée</em>') + '</dd>');
    parts.push('<dt>Quoi</dt><dd>' + (record.description ? h(record.description) : '<em>non renseigné</em>') + '</dd>');
    parts.push('<dt>Quand</dt><dd>' + (record.schedule ? h(record.schedule) : '<em>horaires non renseignés</em>') + '</dd>');
    var contact = [];
    if (record.website) { contact.push(Essmap.linkOrText(record.website, 'site web')); }
    if (record.email) { contact.push('<a href="mailto:' + h(record.email) + '">' + h(record.email) + '</a>'); }
    if (record.phone) { contact.push(h(record.phone)); }
    if (contact.length) { parts.push('<dt>Contact</dt><dd>' + contact.join(' · ') + '</dd>'); }
    parts.push('<dt>Source</dt><dd>' + (record.source ? Essmap.linkOrText(record.source) : '<em>non renseignée</em>') + '</dd>');
    if (record.last_verified) { parts.push('<dt>Vérifié le</dt><dd>' + h(record.last_verified) + '</dd>'); }
    parts.push('</dl></div>');
    return parts.join('');
  }

  function recordOf(actors, i) {
    var rec = { index: i };
    for (var name in actors.cols) {
      if (Object.prototype.hasOwnProperty.call(actors.cols, name)) { rec[name] = actors.cols[name][i]; }
    }
    return rec;
  }

  function qpvPopup(ctx, p) {
    var parts = ['<div class="essmap-popup essmap-qpv-popup" data-qpv-code="' + h(p.code) + '">'];
    parts.push('<h3 class="essmap-popup-title">' + h(p.name) + '</h3>');
    parts.push('<p>Quartier prioritaire (QPV) ' + h(p.code) + ', liste de ' + h(p.generation) + '</p>');
    if (p.schematic) {
      parts.push('<p class="essmap-warning" role="note"><strong>\u26a0 ' + h(ctx.data.schematicNote) + '</strong></p>');
    }
    parts.push('<dl class="essmap-fields">');
    if (p.communes) { parts.push('<dt>Commune(s)</dt><dd>' + h(p.communes) + '</dd>'); }
    if (p.population !== null && p.population !== undefined) {
      parts.push('<dt>Population</dt><dd>' + Essmap.formatNumber(p.population) + ' habitants' +
        (p.population_source ? ' (' + h(p.population_source) + ')' : '') + '</dd>');
    }
    if (p.source) { parts.push('<dt>Source du contour</dt><dd>' + Essmap.linkOrText(p.source) + '</dd>'); }
    parts.push('</dl></div>');
    return parts.join('');
  }

  /* ---------------------------------------------------------------- cluster layer */

  /**
   * Actors drawn through supercluster: only the clusters and points inside the view exist as
   * Leaflet markers, so tens of thousands of actors stay fast. Co-located actors that stay
   * grouped at the highest zoom are fanned out ("spiderfied") on click.
   */
  var ActorLayer = L.Layer.extend({
    initialize: function (ctx) {
      this._ctx = ctx;
      this._markers = new Map();
      this._spider = L.layerGroup();
      this._enabled = new Set(ctx.data.categories.map(function (c) { return c.key; }));
      this._build();
    },

    _build: function () {
      var actors = this._ctx.actors;
      var codes = this._ctx.categoryBit;
      var features = [];
      for (var i = 0; i < actors.n; i++) {
        if (this._enabled.has(actors.category[i])) {
          features.push({ geometry: { coordinates: [actors.lon[i], actors.lat[i]] }, properties: { i: i, m: codes[actors.category[i]] } });
        }
      }
      this._count = features.length;
      this._index = new global.Supercluster({
        radius: 60,
        maxZoom: this._ctx.maxZoom,
        minPoints: 2,
        map: function (props) { return { m: props.m }; },
        reduce: function (acc, props) { acc.m |= props.m; }
      }).load(features);
    },

    setCategories: function (enabled) {
      this._enabled = new Set(enabled);
      this._build();
      if (this._map) {
        this._clearMarkers();
        this._update();
      }
      this.fire('categorieschange');
    },

    enabledCategories: function () { return this._enabled; },

    count: function () { return this._count; },

    onAdd: function (map) {
      this._group = L.layerGroup().addTo(map);
      this._spider.addTo(map);
      map.on('moveend', this._update, this);
      map.on('zoomstart', this._unspiderfy, this);
      map.on('click', this._unspiderfy, this);
      this._update();
    },

    onRemove: function (map) {
      map.off('moveend', this._update, this);
      map.off('zoomstart', this._unspiderfy, this);
      map.off('click', this._unspiderfy, this);
      this._unspiderfy();
      this._clearMarkers();
      map.removeLayer(this._group);
      map.removeLayer(this._spider);
    },

    _clearMarkers: function () {
      this._unspiderfy();
      this._group.clearLayers();
      this._markers.clear();
    },

    _update: function () {
      var map = this._map;
      if (!map) { return; }
      var b = map.getBounds().pad(0.25);
      var bbox = [Math.max(-180, b.getWest()), Math.max(-85, b.getSouth()), Math.min(180, b.getEast()), Math.min(85, b.getNorth())];
      var zoom = Math.min(this._ctx.maxZoom, Math.round(map.getZoom()));
      var items = this._index.getClusters(bbox, zoom);
      var seen = new Set();
      for (var k = 0; k < items.length; k++) {
        var item = items[k];
        var props = item.properties;
        var key = props.cluster ? 'c' + props.cluster_id : 'p' + props.i;
        seen.add(key);
        if (!this._markers.has(key)) {
          var marker = props.cluster ? this._clusterMarker(item) : this._actorMarker(props.i);
          this._markers.set(key, marker);
          this._group.addLayer(marker);
        }
      }
      var self = this;
      this._markers.forEach(function (marker, key) {
        if (!seen.has(key)) {
          self._group.removeLayer(marker);
          self._markers.delete(key);
        }
      });
    },

    _actorMarker: function (i, latlng) {
      var ctx = this._ctx;
      var actors = ctx.actors;
      var cat = actors.category[i];
      var name = actors.get(i, 'name') || '';
      var marker = L.marker(latlng || [actors.lat[i], actors.lon[i]], {
        icon: L.divIcon({
          className: 'essmap-marker',
          html: '<div class="essmap-pin essmap-cat-' + cat + '" data-actor-id="' + h(actors.get(i, 'id')) +
            '" data-category="' + h(cat) + '"><svg viewBox="0 0 24 24" aria-hidden="true"><use href="#essmap-glyph-' + cat + '"/></svg></div>',
          iconSize: [30, 30],
          iconAnchor: [15, 15],
          popupAnchor: [0, -14]
        }),
        title: name + ' (' + (ctx.labels[cat] || cat) + ')',
        alt: name,
        riseOnHover: true
      });
      marker.bindPopup(function () { return actorPopup(ctx, recordOf(actors, i)); }, { maxWidth: 320, autoPanPadding: [20, 20] });
      return marker;
    },

    _clusterMarker: function (feature) {
      var props = feature.properties;
      var count = props.point_count;
      var size = count < 10 ? 34 : count < 100 ? 40 : count < 1000 ? 46 : 52;
      var single = this._ctx.bitCategory[props.m];
      var latlng = L.latLng(feature.geometry.coordinates[1], feature.geometry.coordinates[0]);
      var marker = L.marker(latlng, {
        icon: L.divIcon({
          className: 'essmap-cluster-icon',
          html: '<div class="essmap-cluster' + (single ? ' essmap-cat-' + single : '') + '" data-count="' + count +
            '" style="width:' + size + 'px;height:' + size + 'px;line-height:' + size + 'px">' +
            Essmap.formatNumber(count) + '</div>',
          iconSize: [size, size]
        }),
        title: Essmap.formatNumber(count) + ' acteurs : cliquer pour les voir',
        alt: Essmap.formatNumber(count) + ' acteurs',
        riseOnHover: true
      });
      var self = this;
      marker.on('click', function () { self._clusterClick(props.cluster_id, latlng, marker); });
      return marker;
    },

    _clusterClick: function (clusterId, latlng, marker) {
      var map = this._map;
      var zoom = this._index.getClusterExpansionZoom(clusterId);
      if (zoom <= this._ctx.maxZoom && zoom <= map.getMaxZoom()) {
        map.setView(latlng, zoom);
        return;
      }
      this._spiderfyCluster(clusterId, latlng, marker);
    },

    _spiderfyCluster: function (clusterId, latlng, marker) {
      var leaves = this._index.getLeaves(clusterId, Infinity);
      var indices = leaves.map(function (f) { return f.properties.i; });
      this._unspiderfy();
      if (indices.length > SPIDER_MAX) {
        this._listPopup(indices, latlng);
        return;
      }
      var map = this._map;
      var centre = map.latLngToLayerPoint(latlng);
      var n = indices.length;
      var positions = [];
      var k;
      if (n <= 9) {
        var radius = Math.max(40, (n * 34) / (2 * Math.PI));
        for (k = 0; k < n; k++) {
          var angle = (2 * Math.PI * k) / n - Math.PI / 2;
          positions.push(centre.add(L.point(Math.cos(angle) * radius, Math.sin(angle) * radius)));
        }
      } else {
        var legLength = 30;
        var theta = 0;
        for (k = 0; k < n; k++) {
          theta += 34 / legLength + k * 0.0005;
          positions.push(centre.add(L.point(Math.cos(theta) * legLength, Math.sin(theta) * legLength)));
          legLength += (2 * Math.PI * 5) / theta;
        }
      }
      for (k = 0; k < n; k++) {
        var to = map.layerPointToLatLng(positions[k]);
        this._spider.addLayer(L.polyline([latlng, to], { color: '#333', weight: 1.5, opacity: 0.6, interactive: false }));
        var leaf = this._actorMarker(indices[k], to);
        leaf.options.zIndexOffset = 1000;
        this._spider.addLayer(leaf);
      }
      this._spiderMarker = marker;
      marker.setOpacity(0.35);
    },

    _listPopup: function (indices, latlng) {
      var ctx = this._ctx;
      var actors = ctx.actors;
      var collator = new Intl.Collator('fr', { numeric: true, sensitivity: 'base' });
      indices = indices.slice().sort(function (a, b) { return collator.compare(actors.get(a, 'name') || '', actors.get(b, 'name') || ''); });
      var items = indices.map(function (i) {
        return '<li><button type="button" class="essmap-link" data-index="' + i + '">' + h(actors.get(i, 'name')) +
          '</button> <small>' + h(ctx.labels[actors.category[i]] || actors.category[i]) + '</small></li>';
      });
      var popup = L.popup({ maxWidth: 320, maxHeight: 300 })
        .setLatLng(latlng)
        .setContent('<div class="essmap-popup"><h3 class="essmap-popup-title">' + Essmap.formatNumber(indices.length) +
          ' acteurs à cet endroit</h3><ul class="essmap-list">' + items.join('') + '</ul></div>')
        .openOn(this._map);
      var el = popup.getElement();
      L.DomEvent.on(el, 'click', function (ev) {
        var target = ev.target.closest('button[data-index]');
        if (target) { ctx.showActor(Number(target.getAttribute('data-index'))); }
      });
    },

    _unspiderfy: function () {
      this._spider.clearLayers();
      if (this._spiderMarker) {
        this._spiderMarker.setOpacity(1);
        this._spiderMarker = null;
      }
    }
  });

  /* ---------------------------------------------------------------- legend and filter */

  function legendHtml(ctx) {
    var data = ctx.data;
    var rows = ['<section><h4>Acteurs</h4><p class="essmap-hint">Cocher pour afficher, décocher pour masquer.</p><ul class="essmap-legend-list">'];
    data.categories.forEach(function (c) {
      rows.push('<li><label><input type="checkbox" class="essmap-filter" value="' + h(c.key) + '" checked> ' +
        Essmap.categorySymbol(c.key) + ' <span class="essmap-legend-label">' + h(c.label) + '</span> <span class="essmap-count">(' +
        (c.located ? Essmap.formatNumber(c.located) : 'aucun sur la carte') + ')</span></label></li>');
    });
    rows.push('</ul><p class="essmap-legend-cluster"><span class="essmap-cluster essmap-cluster-sample">12</span> groupe d\u2019acteurs proches : cliquer pour zoomer ou déplier</p>');
    if (data.approximateCount > 0) {
      rows.push('<p class="essmap-hint">\u26a0 ' + Essmap.formatNumber(data.approximateCount) + ' position(s) approximative(s) : signalée(s) dans la fiche.</p>');
    }
    rows.push('</section>');
    if (data.qpv.length) {
      rows.push('<section><h4>Quartiers prioritaires (QPV)</h4><ul class="essmap-legend-list">');
      data.qpv.forEach(function (g) {
        rows.push('<li><span class="essmap-swatch" style="border-color:' + g.color + ';border-style:' + (g.schematic ? 'dashed' : 'solid') +
          '"></span> ' + h(g.label) + (g.schematic ? ' <strong>(contours schématiques, approximatifs)</strong>' : '') + '</li>');
      });
      rows.push('</ul></section>');
    }
    return rows.join('');
  }

  /* ---------------------------------------------------------------- nearest supply points */

  function nearestSupply(ctx, latlng, k) {
    var actors = ctx.actors;
    var enabled = ctx.layer.enabledCategories();
    var best = [];
    for (var i = 0; i < actors.n; i++) {
      var cat = actors.category[i];
      if (!ctx.supply.has(cat) || !enabled.has(cat)) { continue; }
      var d = Essmap.haversine(latlng.lat, latlng.lng, actors.lat[i], actors.lon[i]);
      if (best.length < k || d < best[best.length - 1].d) {
        best.push({ i: i, d: d });
        best.sort(function (a, b) { return a.d - b.d; });
        if (best.length > k) { best.pop(); }
      }
    }
    return best;
  }

  function showNearest(ctx, latlng, origin) {
    var map = ctx.map;
    if (ctx.originMarker) { map.removeLayer(ctx.originMarker); }
    ctx.originMarker = L.circleMarker(latlng, {
      radius: 7, color: '#fff', weight: 3, fillColor: '#111', fillOpacity: 1, className: 'essmap-origin', interactive: false
    }).addTo(map);
    var best = nearestSupply(ctx, latlng, 3);
    var html = ['<p class="essmap-nearest-origin">' + h(origin) + '</p>'];
    if (!best.length) {
      html.push('<p>Aucun point d\u2019approvisionnement affiché sur la carte.</p>');
    } else {
      html.push('<ol class="essmap-nearest-list">');
      best.forEach(function (b) {
        var cat = ctx.actors.category[b.i];
        html.push('<li data-actor-id="' + h(ctx.actors.get(b.i, 'id')) + '">' + Essmap.categorySymbol(cat, 'essmap-symbol-small') +
          ' <button type="button" class="essmap-link" data-index="' + b.i + '">' + h(ctx.actors.get(b.i, 'name')) + '</button>' +
          '<br><span class="essmap-distance">' + Essmap.formatDistance(b.d) + ' à vol d\u2019oiseau</span> · <small>' +
          h(ctx.labels[cat] || cat) + '</small></li>');
      });
      html.push('</ol>');
    }
    html.push('<p class="essmap-hint">Distances à vol d\u2019oiseau (en ligne droite), pas à pied.</p>');
    ctx.nearestPanel.setContent(html.join(''));
    ctx.nearestPanel.expand();
  }

  /* ---------------------------------------------------------------- unlocated actors */

  function unlocatedHtml(ctx) {
    var list = ctx.data.unlocated;
    var parts = ['<p class="essmap-hint">Ces acteurs n\u2019ont pas d\u2019adresse publiée : ils ne sont pas placés sur la carte.</p><ul class="essmap-unlocated-list">'];
    list.forEach(function (r) {
      parts.push('<li data-actor-id="' + h(r.id) + '"><strong>' + h(r.name) + '</strong> ' + Essmap.categorySymbol(r.category, 'essmap-symbol-small') +
        ' <small>' + h(ctx.labels[r.category] || r.category) + (r.commune ? ' · ' + h(r.commune) : '') + '</small>' +
        (r.description ? '<br>' + h(r.description) : '') +
        (r.schedule ? '<br>Quand : ' + h(r.schedule) : '') +
        (r.source ? '<br><small>Source : ' + Essmap.linkOrText(r.source) + '</small>' : '') + '</li>');
    });
    parts.push('</ul>');
    return parts.join('');
  }

  /* ---------------------------------------------------------------- init */

  function build(map, options, data) {
    var ctx = { map: map, data: data, options: options, maxZoom: options.maxZoom || 19 };
    ctx.labels = {};
    ctx.categoryBit = {};
    ctx.bitCategory = {};
    data.categories.forEach(function (c, k) {
      ctx.labels[c.key] = c.label;
      ctx.categoryBit[c.key] = 1 << k;
      ctx.bitCategory[1 << k] = c.key;
    });
    ctx.supply = new Set(data.supplyCategories);
    Essmap.addGlyphSprite(data.categories);
    ctx.actors = new Actors(data);

    Essmap.frenchControls(map);
    Essmap.fitData(map, data.bounds);
    if (data.attribution) { map.attributionControl.addAttribution(data.attribution); }

    // QPV outlines, one overlay per generation
    var overlays = {};
    data.qpv.forEach(function (g) {
      var layer = L.geoJSON(g.features, {
        style: function () {
          return {
            color: g.color, weight: 2.5, opacity: 0.9, fillColor: g.color, fillOpacity: 0.08,
            dashArray: g.schematic ? '8 6' : null, className: 'essmap-qpv essmap-qpv-' + g.generation
          };
        },
        onEachFeature: function (feature, lyr) {
          lyr.bindPopup(qpvPopup(ctx, feature.properties), { maxWidth: 320 });
          lyr.bindTooltip(h(feature.properties.name) + (feature.properties.schematic ? ' (contour schématique)' : ''), { sticky: true });
        }
      });
      if (g.visible) { layer.addTo(map); }
      overlays[h(g.label) + (g.schematic ? ' <em>(schématiques)</em>' : '')] = layer;
    });

    ctx.layer = new ActorLayer(ctx);
    ctx.layer.addTo(map);
    overlays['Acteurs (' + Essmap.formatNumber(ctx.actors.n) + ')'] = ctx.layer;

    ctx.showActor = function (i) {
      var latlng = L.latLng(ctx.actors.lat[i], ctx.actors.lon[i]);
      map.setView(latlng, Math.max(map.getZoom(), 17));
      L.popup({ maxWidth: 320, offset: [0, -14] }).setLatLng(latlng).setContent(actorPopup(ctx, recordOf(ctx.actors, i))).openOn(map);
    };

    var base = {};
    if (options.tiles) { base['Fond de carte'] = options.tiles; }
    L.control.layers(base, overlays, { collapsed: Essmap.isSmallScreen(), position: 'topright' }).addTo(map);

    var legend = new Essmap.Panel({ position: 'topright', title: 'Légende et filtre', shortTitle: 'Légende', className: 'essmap-legend' });
    legend.addTo(map);
    legend.setContent(legendHtml(ctx));
    L.DomEvent.on(legend.getBody(), 'change', function () {
      var checked = Array.prototype.slice.call(legend.getBody().querySelectorAll('input.essmap-filter:checked'))
        .map(function (el) { return el.value; });
      ctx.layer.setCategories(checked);
    });

    Essmap.addFullscreen(map);
    Essmap.addLocate(map);

    ctx.nearestPanel = new Essmap.Panel({
      position: 'bottomleft', className: 'essmap-nearest',
      title: 'Points d\u2019approvisionnement les plus proches', shortTitle: 'Les plus proches'
    });
    ctx.nearestPanel.addTo(map);
    ctx.nearestPanel.setContent('<p class="essmap-hint">Cliquez sur la carte ou utilisez «\u00a0Me localiser\u00a0» pour voir les trois points d\u2019approvisionnement les plus proches (distances à vol d\u2019oiseau).</p>');
    function onListClick(ev) {
      var target = ev.target.closest('button[data-index]');
      if (target) { ctx.showActor(Number(target.getAttribute('data-index'))); }
    }
    L.DomEvent.on(ctx.nearestPanel.getBody(), 'click', onListClick);
    map.on('click', function (e) { showNearest(ctx, e.latlng, 'Depuis le point choisi'); });
    map.on('locationfound', function (e) { showNearest(ctx, e.latlng, 'Depuis votre position'); });

    if (data.unlocated.length) {
      var unlocated = new Essmap.Panel({
        position: Essmap.isSmallScreen() ? 'topright' : 'bottomright', className: 'essmap-unlocated', collapsed: true,
        title: 'Acteurs sans localisation (' + Essmap.formatNumber(data.unlocated.length) + ')',
        shortTitle: 'Sans adresse (' + Essmap.formatNumber(data.unlocated.length) + ')'
      });
      unlocated.addTo(map);
      unlocated.setContent(unlocatedHtml(ctx));
    }

    return ctx;
  }

  global.EssmapResident = {
    init: function (map, options) {
      var startedAt = performance.now();
      return Essmap.loadData(options.dataId).then(function (data) {
        var ctx = build(map, options, data);
        global.essmapResident = ctx;
        Essmap.ready(map, startedAt);
        return ctx;
      }).catch(function (error) { Essmap.fail(map, error); });
    }
  };
})(window);
