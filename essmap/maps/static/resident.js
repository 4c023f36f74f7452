/*
 * essmap resident map: QPV outlines by generation, actors by category with clustering,
 * category filter, nearest supply points from a click or from "locate me", unlocated actors.
 * Rendering only: every figure shown comes from the page's data block.
 */
(function (global) {
  'use strict';

  var Essmap = global.Essmap;
  var h = Essmap.escapeHtml;
  var _ = Essmap._;
  var fmt = Essmap.fmt;
  var SPIDER_MAX = 60;
  /** Most actors the list view shows at once (the filter narrows the rest down). */
  var LIST_MAX = 100;

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
    this.pickups = t.pickups || {};
  }

  Actors.prototype.get = function (i, name) {
    var col = this.cols[name];
    return col ? col[i] : null;
  };

  /* ---------------------------------------------------------------- schedules */

  /** The next pick-up of actor i that has not ended: {start, end, text}; null when none is known. */
  function nextPickup(ctx, i) {
    var list = ctx.actors.pickups[String(i)];
    if (!list) { return null; }
    var now = Date.now();
    for (var k = 0; k < list.length; k++) {
      if (Date.parse(list[k][1]) > now) {
        return { start: list[k][0], end: list[k][1], text: pickupText(ctx, list[k]) };
      }
    }
    return null;
  }

  /** A pick-up for people, in the page's language (the server's French wording in French). */
  function pickupText(ctx, pickup) {
    if (ctx.lang === 'fr') { return pickup[2]; }
    var start = new Date(pickup[0]);
    var end = new Date(pickup[1]);
    var time = new Intl.DateTimeFormat(intlLocale(ctx), { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'Europe/Paris' });
    return longDay(ctx, start) + ', ' + time.format(start) + '\u2013' + time.format(end);
  }

  /** The locale Intl formats in: the page's language when the browser has its data (Debian's
   * Chromium has no Basque), else French, whose numeric forms (18:30) Basque shares. */
  function intlLocale(ctx) {
    return Intl.DateTimeFormat.supportedLocalesOf([ctx.lang]).length ? ctx.lang : 'fr';
  }

  /** Year, month (1-12), day and weekday (0 = Sunday) of a time in Europe/Paris. */
  function parisDay(date) {
    var parts = {};
    new Intl.DateTimeFormat('en-GB', { year: 'numeric', month: 'numeric', day: 'numeric', timeZone: 'Europe/Paris' })
      .formatToParts(date).forEach(function (p) { parts[p.type] = Number(p.value); });
    return { year: parts.year, month: parts.month, day: parts.day, weekday: new Date(Date.UTC(parts.year, parts.month - 1, parts.day)).getUTCDay() };
  }

  function weekdayName(k) {
    return [_('dimanche'), _('lundi'), _('mardi'), _('mercredi'), _('jeudi'), _('vendredi'), _('samedi')][k];
  }

  function monthName(m) {
    return [_('janvier'), _('février'), _('mars'), _('avril'), _('mai'), _('juin'), _('juillet'), _('août'),
      _('septembre'), _('octobre'), _('novembre'), _('décembre')][m - 1];
  }

  /** "jeudi 3 décembre" in the page's language: Intl's when it knows the language, else the names
   * and the order of the catalogues. */
  function longDay(ctx, date) {
    if (intlLocale(ctx) === ctx.lang) {
      return new Intl.DateTimeFormat(ctx.lang, { weekday: 'long', day: 'numeric', month: 'long', timeZone: 'Europe/Paris' }).format(date);
    }
    var d = parisDay(date);
    return fmt(_('{weekday} {day} {month}'), { weekday: weekdayName(d.weekday), day: d.day, month: monthName(d.month) });
  }

  /** A calendar date (YYYY-MM-DD) for people: "3 décembre 2026" in the page's language. */
  function formatDay(ctx, text) {
    var date = new Date(text + 'T12:00:00');
    if (isNaN(date.getTime())) { return text; }
    if (intlLocale(ctx) === ctx.lang) {
      return new Intl.DateTimeFormat(ctx.lang, { day: 'numeric', month: 'long', year: 'numeric' }).format(date);
    }
    var d = parisDay(date);
    return fmt(_('{day} {month} {year}'), { day: d.day, month: monthName(d.month), year: d.year });
  }

  function icalUrl(ctx, record) {
    var api = ctx.data.api;
    if (!api || !api.ical || !record.schedule) { return null; }
    return api.ical.replace('{id}', encodeURIComponent(record.id));
  }

  /** What, when and the next pick-up of an actor, as <dt>/<dd> pairs. */
  function whenHtml(ctx, record, i) {
    var parts = [];
    var when = record.schedule_description || record.schedule;
    parts.push('<dt>' + h(_('Quand')) + '</dt><dd>' + (when ? h(when) : '<em>' + h(_('horaires non renseignés')) + '</em>') + '</dd>');
    if (record.schedule) {
      var next = i === null ? null : nextPickup(ctx, i);
      parts.push('<dt>' + h(_('Prochain retrait')) + '</dt><dd class="essmap-next-pickup">' +
        (next ? '<time datetime="' + h(next.start) + '">' + h(next.text) + '</time>' : '<em>' + h(_('aucun à venir connu')) + '</em>') + '</dd>');
      var ical = icalUrl(ctx, record);
      if (ical) {
        parts.push('<dt class="essmap-visually-hidden">' + h(_('Agenda')) + '</dt><dd class="essmap-ical"><a href="' + h(ical) + '" download>' +
          h(_('Ajouter à mon agenda')) + '</a></dd>');
      }
    }
    return parts.join('');
  }

  /* ---------------------------------------------------------------- popups */

  function actorPopup(ctx, record) {
    var cat = record.category;
    var label = ctx.labels[cat] || cat;
    var i = record.index === undefined ? null : record.index;
    var parts = ['<div class="essmap-popup" data-actor-id="' + h(record.id) + '">'];
    parts.push('<h3 class="essmap-popup-title">' + h(record.name) + '</h3>');
    parts.push('<p class="essmap-popup-category">' + Essmap.categorySymbol(cat, 'essmap-symbol-small') + ' ' + h(label) + '</p>');
    var precision = record.location_precision;
    if (record.location_approximate === 'True') {
      // one warning, with the most precise explanation: how the point was placed when the data
      // says so, else what the precision means
      var why = record.coordinates_source || ctx.data.precisionNotes[precision] || ctx.data.precisionNotes.placed;
      parts.push('<p class="essmap-warning" role="note"><strong>\u26a0 ' + h(_('Localisation approximative')) + '</strong> (' +
        h(_('précision :')) + ' ' + h(ctx.data.precisionLabels[precision] || precision) + ') : ' + h(why) + '</p>');
    }
    parts.push('<dl class="essmap-fields">');
    var address = record.address || '';
    if (record.commune && address.indexOf(record.commune) < 0) {
      address = address ? address + ', ' + record.commune : record.commune;
    }
    parts.push('<dt>' + h(_('Adresse')) + '</dt><dd>' + (address ? h(address) : '<em>' + h(_('non renseignée')) + '</em>') + '</dd>');
    parts.push('<dt>' + h(_('Quoi')) + '</dt><dd>' + (record.description ? h(record.description) : '<em>' + h(_('non renseigné')) + '</em>') + '</dd>');
    parts.push(whenHtml(ctx, record, i));
    var contact = [];
    if (record.website) { contact.push(Essmap.linkOrText(record.website, _('site web'))); }
    if (record.email) { contact.push('<a href="mailto:' + h(record.email) + '">' + h(record.email) + '</a>'); }
    if (record.phone) { contact.push(h(record.phone)); }
    if (contact.length) { parts.push('<dt>' + h(_('Contact')) + '</dt><dd>' + contact.join(' · ') + '</dd>'); }
    parts.push('<dt>' + h(_('Source')) + '</dt><dd>' + (record.source ? sourceLink(record.source) : '<em>' + h(_('non renseignée')) + '</em>') + '</dd>');
    parts.push('<dt>' + h(_('Vérifié le')) + '</dt><dd>' + (record.last_verified ? h(formatDay(ctx, record.last_verified)) : '<em>' + h(_('date inconnue')) + '</em>') + '</dd>');
    parts.push('</dl></div>');
    return parts.join('');
  }

  /** A source: a link named by its site (the whole address in its title), or the text itself. */
  function sourceLink(source) {
    var match = /^https?:\/\/([^/?#]+)/i.exec(String(source));
    if (!match) { return h(source); }
    var host = match[1].replace(/^www\./i, '');
    return '<a href="' + h(source) + '" title="' + h(source) + '" target="_blank" rel="noopener noreferrer">' + h(host) + '</a>';
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
    parts.push('<p>' + h(fmt(_('Quartier prioritaire (QPV) {code}, liste de {generation}'), { code: p.code, generation: p.generation })) + '</p>');
    if (p.schematic) {
      parts.push('<p class="essmap-warning" role="note"><strong>\u26a0 ' + h(ctx.data.schematicNote) + '</strong></p>');
    }
    parts.push('<dl class="essmap-fields">');
    if (p.communes) { parts.push('<dt>' + h(_('Commune(s)')) + '</dt><dd>' + h(p.communes) + '</dd>'); }
    if (p.population !== null && p.population !== undefined) {
      parts.push('<dt>' + h(_('Population')) + '</dt><dd>' + h(fmt(_('{n} habitants'), { n: Essmap.formatNumber(p.population) })) +
        (p.population_source ? ' (' + h(p.population_source) + ')' : '') + '</dd>');
    }
    if (p.source) { parts.push('<dt>' + h(_('Source du contour')) + '</dt><dd>' + sourceLink(p.source) + '</dd>'); }
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
        // in units of a 512-pixel tile: 80 keeps markers at least 40 screen pixels apart, so that
        // no marker (30 px) or cluster (34 px and more) covers another one's touch target
        radius: 80,
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
      marker.bindPopup(function () { return actorPopup(ctx, recordOf(actors, i)); }, popupOptions());
      marker.on('popupopen', function (e) { ctx.popupOpened(i, e.popup); });
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
        title: fmt(_('{n} acteurs : cliquer pour les voir'), { n: Essmap.formatNumber(count) }),
        alt: fmt(_('{n} acteurs'), { n: Essmap.formatNumber(count) }),
        riseOnHover: true
      });
      var self = this;
      marker.on('click', function () { self._clusterClick(props.cluster_id, latlng, marker); });
      marker.on('add', function () {
        var el = marker.getElement();
        el.setAttribute('aria-label', fmt(_('Groupe de {n} acteurs : zoomer ou déplier'), { n: Essmap.formatNumber(count) }));
        L.DomEvent.on(el, 'keydown', function (ev) {
          if (ev.key === 'Enter' || ev.key === ' ') {
            L.DomEvent.preventDefault(ev);
            self._clusterClick(props.cluster_id, latlng, marker);
            self._map.getContainer().focus();
          }
        });
      });
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
          ' ' + h(_('acteurs à cet endroit')) + '</h3><ul class="essmap-list">' + items.join('') + '</ul></div>')
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

  /** Popups fit a phone's screen; their content scrolls rather than running off it. */
  function popupOptions() {
    var small = Essmap.isSmallScreen();
    return {
      maxWidth: small ? Math.min(300, window.innerWidth - 60) : 320,
      maxHeight: small ? Math.max(180, Math.round(window.innerHeight * 0.45)) : null
    };
  }

  /* ---------------------------------------------------------------- legend and filter */

  function legendHtml(ctx) {
    var data = ctx.data;
    var compact = data.mode === 'embed';
    var rows = ['<section><h2 class="essmap-panel-heading">' + h(_('Acteurs')) + '</h2>'];
    if (!compact) { rows.push('<p class="essmap-hint">' + h(_('Cocher pour afficher, décocher pour masquer.')) + '</p>'); }
    rows.push('<ul class="essmap-legend-list">');
    data.categories.forEach(function (c) {
      rows.push('<li><label><input type="checkbox" class="essmap-filter" value="' + h(c.key) + '" checked> ' +
        Essmap.categorySymbol(c.key) + ' <span class="essmap-legend-label">' + h(c.label) + '</span> <span class="essmap-count">(' +
        (c.located ? Essmap.formatNumber(c.located) : h(_('aucun sur la carte'))) + ')</span></label></li>');
    });
    rows.push('</ul>');
    if (!compact) {
      rows.push('<p class="essmap-legend-cluster"><span class="essmap-cluster essmap-cluster-sample">12</span> ' +
        h(_('groupe d\u2019acteurs proches : cliquer pour zoomer ou déplier')) + '</p>');
      if (data.approximateCount > 0) {
        rows.push('<p class="essmap-hint">\u26a0 ' + h(fmt(_('{n} position(s) approximative(s) : signalée(s) dans la fiche.'), { n: Essmap.formatNumber(data.approximateCount) })) + '</p>');
      }
    }
    rows.push('</section>');
    if (data.qpv.length) {
      rows.push('<section><h2 class="essmap-panel-heading">' + h(_('Quartiers prioritaires (QPV)')) + '</h2><ul class="essmap-legend-list">');
      data.qpv.forEach(function (g) {
        rows.push('<li><span class="essmap-swatch" style="border-color:' + g.color + ';border-style:' + (g.schematic ? 'dashed' : 'solid') +
          '"></span> ' + h(g.label) + (g.schematic ? ' <strong>(' + h(_('contours schématiques, approximatifs')) + ')</strong>' : '') + '</li>');
      });
      rows.push('</ul></section>');
    }
    if (compact && data.api && data.api.full) {
      rows.push('<p class="essmap-full-link"><a href="' + h(data.api.full) + '" target="_blank" rel="noopener">' + h(_('Voir la carte complète')) + '</a></p>');
    }
    return rows.join('');
  }

  /* ---------------------------------------------------------------- nearest supply points */

  /** The k nearest supply points shown, within the server's maximum distance (as /nearest). */
  function nearestSupply(ctx, latlng, k) {
    var limit = ctx.data.nearestMaxDistanceM || Infinity;
    return nearestShown(ctx, latlng, k).filter(function (b) { return b.d <= limit; });
  }

  function nearestShown(ctx, latlng, k) {
    var actors = ctx.actors;
    var enabled = ctx.layer.enabledCategories();
    var best = [];
    for (var i = 0; i < actors.n; i++) {
      var cat = actors.category[i];
      if (!ctx.supply.has(cat) || !enabled.has(cat)) { continue; }
      var d = Essmap.distance(latlng.lat, latlng.lng, actors.lat[i], actors.lon[i]);
      if (best.length < k || d < best[best.length - 1].d) {
        best.push({ i: i, d: d });
        best.sort(function (a, b) { return a.d - b.d; });
        if (best.length > k) { best.pop(); }
      }
    }
    return best;
  }

  function nextPickupLine(ctx, i) {
    if (!ctx.actors.get(i, 'schedule')) { return '<span class="essmap-next-pickup"><em>' + h(_('horaires non renseignés')) + '</em></span>'; }
    var next = nextPickup(ctx, i);
    return '<span class="essmap-next-pickup">' + h(_('Prochain retrait :')) + ' ' +
      (next ? '<time datetime="' + h(next.start) + '">' + h(next.text) + '</time>' : '<em>' + h(_('aucun à venir connu')) + '</em>') + '</span>';
  }

  /**
   * The nearest list: the origin, then one entry per actor ({i, distance: HTML of its distance,
   * link: HTML after it or '', attrs: more attributes of its <li> or ''}), then a hint.
   */
  function nearestHtml(ctx, origin, items, hint) {
    var html = ['<p class="essmap-nearest-origin">' + h(origin) + '</p>'];
    if (!items.length) {
      html.push('<p>' + h(_('Aucun point d\u2019approvisionnement affiché sur la carte.')) + '</p>');
    } else {
      html.push('<ol class="essmap-nearest-list">');
      items.forEach(function (item) {
        var i = item.i;
        var cat = ctx.actors.category[i];
        html.push('<li data-actor-id="' + h(ctx.actors.get(i, 'id')) + '"' + (item.attrs || '') + '>' +
          Essmap.categorySymbol(cat, 'essmap-symbol-small') +
          ' <button type="button" class="essmap-link" data-index="' + i + '">' + h(ctx.actors.get(i, 'name')) + '</button>' +
          '<br>' + item.distance + ' · <small>' + h(ctx.labels[cat] || cat) + '</small>' + (item.link || '') +
          '<br>' + nextPickupLine(ctx, i) + '</li>');
      });
      html.push('</ol>');
    }
    html.push('<p class="essmap-hint">' + h(hint) + '</p>');
    return html.join('');
  }

  /**
   * Whether a point is too far from every supply point shown to list any (farther than the
   * server's maximum distance): then the nearest panel says so, with how far the nearest is, and
   * the map neither moves there nor marks it.
   */
  function tooFar(ctx, latlng) {
    return !nearestSupply(ctx, latlng, 1).length;
  }

  function showFar(ctx, latlng, located) {
    var nearest = nearestShown(ctx, latlng, 1)[0];
    var limit = Essmap.formatDistance(ctx.data.nearestMaxDistanceM);
    var text = located
      ? fmt(_('Aucun point d’approvisionnement à moins de {distance} de votre position.'), { distance: limit })
      : fmt(_('Aucun point d’approvisionnement à moins de {distance} du point choisi.'), { distance: limit });
    var parts = ['<p class="essmap-far" role="status">' + h(text)];
    if (nearest) {
      parts.push(' ' + h(fmt(_('Le plus proche est à {distance} (à vol d’oiseau).'), { distance: Essmap.formatDistance(nearest.d) })));
    }
    ctx.setNearest(parts.join('') + '</p>');
  }

  function showNearest(ctx, latlng, origin, located) {
    var map = ctx.map;
    if (ctx.originMarker) { map.removeLayer(ctx.originMarker); ctx.originMarker = null; }
    if (tooFar(ctx, latlng)) {
      ctx.origin = null;
      showFar(ctx, latlng, located);
      if (ctx.list) { ctx.list.render(); }
      return;
    }
    ctx.originMarker = L.circleMarker(latlng, {
      radius: 7, color: '#fff', weight: 3, fillColor: '#111', fillOpacity: 1, className: 'essmap-origin', interactive: false
    }).addTo(map);
    ctx.origin = { latlng: latlng, label: origin };
    var items = nearestSupply(ctx, latlng, 3).map(function (b) {
      return {
        i: b.i,
        distance: '<span class="essmap-distance">' + h(fmt(_('{distance} à vol d\u2019oiseau'), { distance: Essmap.formatDistance(b.d) })) + '</span>'
      };
    });
    ctx.setNearest(nearestHtml(ctx, origin, items, _('Distances à vol d\u2019oiseau (en ligne droite), pas à pied.')));
    if (ctx.list) { ctx.list.render(); }
    // served with a street network: the same list walked, once the server answers
    var walk = global.EssmapResidentWalk;
    if (walk) { walk.refine(ctx, latlng, origin); }
  }

  /* ---------------------------------------------------------------- unlocated actors */

  function unlocatedShown(ctx) {
    var enabled = ctx.layer.enabledCategories();
    return ctx.data.unlocated.filter(function (r) { return enabled.has(r.category); });
  }

  function unlocatedHtml(ctx, list) {
    var parts = ['<p class="essmap-hint">' + h(_('Ces acteurs n\u2019ont pas d\u2019adresse publiée : ils ne sont pas placés sur la carte.')) + '</p>'];
    if (!list.length) {
      parts.push('<p>' + h(_('Aucun dans les catégories affichées.')) + '</p>');
      return parts.join('');
    }
    parts.push('<ul class="essmap-unlocated-list">');
    list.forEach(function (r) {
      parts.push('<li data-actor-id="' + h(r.id) + '"><strong>' + h(r.name) + '</strong> ' + Essmap.categorySymbol(r.category, 'essmap-symbol-small') +
        ' <small>' + h(ctx.labels[r.category] || r.category) + (r.commune ? ' · ' + h(r.commune) : '') + '</small>' +
        (r.description ? '<br>' + h(r.description) : '') +
        (r.schedule ? '<br>' + h(_('Quand :')) + ' ' + h(r.schedule_description || r.schedule) : '') +
        (r.source ? '<br><small>' + h(_('Source :')) + ' ' + sourceLink(r.source) + '</small>' : '') + '</li>');
    });
    parts.push('</ul>');
    return parts.join('');
  }

  /* ---------------------------------------------------------------- init */

  function build(map, options, data) {
    var ctx = { map: map, data: data, options: options, maxZoom: options.maxZoom || 19, lang: data.lang || 'fr' };
    Essmap.messages = data.messages || {};
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
    var page = global.EssmapResidentPage;
    if (page && data.mode !== 'embed') { page.layout(ctx); }
    map.getContainer().classList.add('essmap-resident-map');
    map.getContainer().setAttribute('aria-label', _('Carte des acteurs'));

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
          lyr.bindTooltip(h(feature.properties.name) + (feature.properties.schematic ? ' (' + h(_('contour schématique')) + ')' : ''), { sticky: true });
        }
      });
      if (g.visible) { layer.addTo(map); }
      overlays[h(g.label) + (g.schematic ? ' <em>(' + h(_('schématiques')) + ')</em>' : '')] = layer;
    });

    ctx.layer = new ActorLayer(ctx);
    ctx.layer.addTo(map);
    /** The actors' line of the layers control: how many the category filter shows. */
    function actorsLabel() {
      return h(fmt(_('Acteurs ({n})'), { n: Essmap.formatNumber(ctx.layer.count()) }));
    }
    overlays[actorsLabel()] = ctx.layer;

    /** Centre an actor and open its popup once the map has stopped moving: a popup opened during
     * the pan or zoom would be placed, and auto-panned into view, from the old view. */
    ctx.showActor = function (i) {
      var latlng = L.latLng(ctx.actors.lat[i], ctx.actors.lon[i]);
      map.closePopup();
      map.once('moveend', function () {
        var popup = L.popup(L.extend(popupOptions(), { offset: [0, -14] })).setLatLng(latlng)
          .setContent(actorPopup(ctx, recordOf(ctx.actors, i))).openOn(map);
        ctx.popupOpened(i, popup);
        var close = popup.getElement() && popup.getElement().querySelector('.leaflet-popup-close-button');
        if (close) { close.focus(); }
      });
      map.setView(latlng, Math.max(map.getZoom(), 17));
    };

    /** Hook for other scripts (contribution forms): 'essmap:actorpopup' with the actor's record. */
    ctx.popupOpened = function (i, popup) {
      ctx.openActor = { index: i, popup: popup };
      popup.once('remove', function () {
        if (ctx.openActor && ctx.openActor.popup === popup) { ctx.openActor = null; }
      });
      map.fire('essmap:actorpopup', { index: i, record: recordOf(ctx.actors, i), popup: popup });
    };

    Essmap.popupsClearControls(map);

    var base = {};
    if (options.tiles) { base[_('Fond de carte')] = options.tiles; }
    var compact = data.mode === 'embed';
    var layers = L.control.layers(base, overlays, { collapsed: Essmap.isSmallScreen() || compact, position: 'topright' }).addTo(map);
    // the filter closes the popup of an actor it hides, and the layers control counts what it shows
    ctx.layer.on('categorieschange', function () {
      var open = ctx.openActor;
      if (open && !ctx.layer.enabledCategories().has(ctx.actors.category[open.index])) { map.closePopup(open.popup); }
      layers.removeLayer(ctx.layer);
      layers.addOverlay(ctx.layer, actorsLabel());
    });

    var legend = new Essmap.Panel({
      position: 'topright', title: _('Légende et filtre'), shortTitle: _('Légende'), className: 'essmap-legend',
      collapsed: compact && Essmap.isSmallScreen() ? true : null
    });
    legend.addTo(map);
    legend.setContent(legendHtml(ctx));
    ctx.legend = legend;
    L.DomEvent.on(legend.getBody(), 'change', function () {
      var checked = Array.prototype.slice.call(legend.getBody().querySelectorAll('input.essmap-filter:checked'))
        .map(function (el) { return el.value; });
      ctx.layer.setCategories(checked);
    });
    ctx.layer.on('categorieschange', function () {
      var enabled = ctx.layer.enabledCategories();
      Array.prototype.forEach.call(legend.getBody().querySelectorAll('input.essmap-filter'), function (box) {
        box.checked = enabled.has(box.value);
      });
    });

    Essmap.addFullscreen(map);
    // a position farther than the maximum distance from every point keeps the data in view
    Essmap.addLocate(map, { accept: function (latlng) { return !tooFar(ctx, latlng); } });

    function onListClick(ev) {
      var target = ev.target.closest('button[data-index]');
      if (target) { ctx.showActor(Number(target.getAttribute('data-index'))); }
    }
    var walked = global.EssmapResidentWalk && global.EssmapResidentWalk.available(ctx);
    var intro = '<p class="essmap-hint">' + h(walked
      ? _('Cherchez une adresse, cliquez sur la carte ou utilisez «\u00a0Me localiser\u00a0» pour voir les trois points d\u2019approvisionnement les plus proches à pied, avec le temps de marche et l\u2019itinéraire.')
      : _('Cherchez une adresse, cliquez sur la carte ou utilisez «\u00a0Me localiser\u00a0» pour voir les trois points d\u2019approvisionnement les plus proches (distances à vol d\u2019oiseau).')) + '</p>';
    if (ctx.nearestBox) {
      ctx.setNearest = function (html) { ctx.nearestBox.innerHTML = html; };
      ctx.setNearest(intro);
      L.DomEvent.on(ctx.nearestBox, 'click', onListClick);
    } else {
      ctx.nearestPanel = new Essmap.Panel({
        position: 'bottomleft', className: 'essmap-nearest',
        title: _('Points d\u2019approvisionnement les plus proches'), shortTitle: _('Les plus proches'),
        collapsed: compact ? true : null
      });
      ctx.nearestPanel.addTo(map);
      ctx.setNearest = function (html) { ctx.nearestPanel.setContent(html); ctx.nearestPanel.expand(); };
      ctx.nearestPanel.setContent(intro);
      L.DomEvent.on(ctx.nearestPanel.getBody(), 'click', onListClick);
    }
    map.on('click', function (e) { showNearest(ctx, e.latlng, _('Depuis le point choisi')); });
    map.on('locationfound', function (e) { showNearest(ctx, e.latlng, _('Depuis votre position'), true); });

    if (data.unlocated.length && !compact) {
      var unlocated = new Essmap.Panel({
        position: Essmap.isSmallScreen() ? 'topright' : 'bottomright', className: 'essmap-unlocated', collapsed: true,
        title: '', shortTitle: ''
      });
      unlocated.addTo(map);
      var refresh = function () {
        var shown = unlocatedShown(ctx);
        var n = Essmap.formatNumber(shown.length);
        var title = fmt(_('Acteurs sans localisation ({n})'), { n: n });
        unlocated.setTitle(title, fmt(_('Sans adresse ({n})'), { n: n }));
        unlocated.setContent(unlocatedHtml(ctx, shown));
      };
      refresh();
      ctx.layer.on('categorieschange', refresh);
      ctx.unlocatedPanel = unlocated;
    }

    // on a phone the buttons of the top right corner cover the map's edge: fit again beside them
    if (Essmap.isSmallScreen()) { Essmap.fitData(map, data.bounds); }
    if (page && data.mode !== 'embed') { page.connect(ctx); }
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
    },
    nearestSupply: nearestSupply,
    nextPickup: nextPickup,
    nextPickupLine: nextPickupLine,
    nearestHtml: nearestHtml,
    showNearest: showNearest,
    recordOf: recordOf
  };
})(window);
