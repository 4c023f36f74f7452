/*
 * essmap planner map: QPVs shaded by coverage share at one threshold, gap polygons, catchment
 * rings, supply points and suggested sites. Rendering only: every figure comes from the page's
 * data block, computed by essmap.analysis.
 */
(function (global) {
  'use strict';

  var Essmap = global.Essmap;
  var h = Essmap.escapeHtml;

  function metres(value) { return value === null || value === undefined ? '—' : Essmap.formatDistance(value); }
  function count(value) { return value === null || value === undefined ? '—' : Essmap.formatNumber(Math.round(value)); }
  function hectares(m2) {
    return new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 1 }).format(m2 / 10000) + '\u00a0ha';
  }

  function qpvHtml(data, p) {
    var t = Essmap.formatNumber(data.threshold);
    var rows = [];
    function row(label, value) { rows.push('<tr><td>' + label + '</td><td><strong>' + value + '</strong></td></tr>'); }
    if (p.share === null) {
      row('Part couverte à ' + t + '\u00a0m', 'pas de donnée');
    } else {
      row('Part couverte à ' + t + '\u00a0m', Essmap.formatPercent(p.share) + (p.basis === 'residents' ? ' des habitants' : ' de la surface'));
    }
    if (p.population !== null) {
      row('Population', Essmap.formatNumber(p.population) + (p.populationSource ? ' <small>(' + h(p.populationSource) + ')</small>' : ''));
    }
    if (p.residentsTotal !== null && p.method !== 'none') {
      row('Habitants à moins de ' + t + '\u00a0m', count(p.residentsCovered));
      row('Habitants au-delà', count(p.residentsUncovered));
    }
    if (p.areaShare !== null && p.areaM2 !== null) {
      row('Surface couverte', Essmap.formatPercent(p.areaShare) + ' de ' + hectares(p.areaM2));
    }
    if (p.supplyPoints !== null) { row('Points d\u2019approvisionnement à moins de ' + t + '\u00a0m', Essmap.formatNumber(p.supplyPoints)); }
    row('Point le plus proche du centre', p.nearestSupplyM === null ? 'aucun' : metres(p.nearestSupplyM));
    var parts = ['<div class="essmap-qpv-info" data-qpv-code="' + h(p.code) + '">',
      '<strong>' + h(p.name) + '</strong> <small>(' + h(p.code) + ', QPV ' + h(p.generation) + (p.communes ? ', ' + h(p.communes) : '') + ')</small>'];
    if (p.schematic) { parts.push('<p class="essmap-warning">\u26a0 ' + h(data.schematicNote) + '</p>'); }
    parts.push('<table class="essmap-tooltip-table">' + rows.join('') + '</table>');
    if (p.lowAccess) { parts.push('<p class="essmap-warning"><strong>Accès faible</strong> : une part importante des habitants est au-delà du seuil.</p>'); }
    parts.push('<p class="essmap-hint">Méthode : distances à vol d\u2019oiseau ; ' + h(data.methodLabels[p.method] || p.method) + '.</p></div>');
    return parts.join('');
  }

  function gapHtml(data, p) {
    return '<div class="essmap-gap-info"><strong>Zone non desservie</strong> à ' + Essmap.formatNumber(data.threshold) + '\u00a0m<br>' +
      h(p.name) + ' (' + h(p.code) + ')<br>' +
      (p.residents !== null && p.method !== 'none' ? count(p.residents) + ' habitants, ' : '') +
      (p.areaM2 !== null ? hectares(p.areaM2) : '') +
      '<br><small>' + h(data.methodLabels[p.method] || p.method) + '</small></div>';
  }

  function siteHtml(data, s) {
    return '<div class="essmap-popup essmap-site-info"><h3 class="essmap-popup-title">Site suggéré n°\u00a0' + s.rank + '</h3>' +
      '<p><strong>+' + count(s.gain) + ' habitants</strong> à moins de ' + Essmap.formatNumber(data.threshold) + '\u00a0m (à vol d\u2019oiseau)</p>' +
      '<p>Total avec les sites précédents : ' + count(s.cumulative) + ' habitants</p>' +
      (s.qpvName ? '<p>Quartier le plus servi : ' + h(s.qpvName) + ' (' + h(s.code) + ')</p>' : '') + '</div>';
  }

  function legendHtml(data) {
    var t = Essmap.formatNumber(data.threshold);
    var parts = ['<section><h4>Part des habitants à moins de ' + t + '\u00a0m d\u2019un point d\u2019approvisionnement</h4><ul class="essmap-legend-list essmap-classes">'];
    data.classes.slice().reverse().forEach(function (c) {
      parts.push('<li><span class="essmap-swatch essmap-swatch-fill" style="background:' + c.color + '"></span> ' + h(c.label) + '</li>');
    });
    parts.push('<li><span class="essmap-swatch essmap-swatch-fill" style="background:' + data.noDataColor + '"></span> pas de donnée</li></ul>');
    parts.push('<p class="essmap-hint">Part de la surface quand la population du quartier est inconnue.</p></section>');
    parts.push('<section><h4>Sur la carte</h4><ul class="essmap-legend-list">');
    parts.push('<li><span class="essmap-swatch essmap-swatch-gap"></span> zone non desservie à ' + t + '\u00a0m (hachures)</li>');
    parts.push('<li><span class="essmap-swatch" style="border:1.5px solid #1565c0;border-radius:50%"></span> rayon de ' + t + '\u00a0m autour d\u2019un point (couleur de sa catégorie)</li>');
    parts.push('<li><span class="essmap-swatch" style="border:2px solid #fff;background:#555;border-radius:50%;width:12px;height:12px"></span> point d\u2019approvisionnement</li>');
    if (data.sites.length) {
      parts.push('<li><span class="essmap-site" style="display:inline-block;width:22px;height:22px;line-height:18px">1</span> site suggéré (ordre de choix)</li>');
    }
    parts.push('</ul></section>');
    var methods = Object.keys(data.methods).map(function (k) { return h(data.methods[k]); });
    parts.push('<section><h4>Méthode</h4><p class="essmap-hint">Distances à vol d\u2019oiseau (en ligne droite), seuil ' + t + '\u00a0m. ' +
      'Points d\u2019approvisionnement : ' + h(data.supplyCategories.join(', ')) + '. ' +
      (methods.length ? 'Habitants : ' + methods.join(' ; ') + '.' : '') + '</p></section>');
    if (data.qpv.some(function (g) { return g.schematic; })) {
      parts.push('<p class="essmap-hint">\u26a0 Contours schématiques (approximatifs) : ' + h(data.schematicNote) + '</p>');
    }
    return parts.join('');
  }

  function build(map, options, data) {
    Essmap.addGlyphSprite(data.categories);
    Essmap.frenchControls(map);
    Essmap.fitData(map, data.bounds);
    if (data.attribution) { map.attributionControl.addAttribution(data.attribution); }
    var canvas = L.canvas({ padding: 0.5 });
    var colors = {};
    data.categories.forEach(function (c) { colors[c.key] = c.color; });
    var overlays = {};

    data.qpv.forEach(function (g) {
      var layer = L.geoJSON(g.features, {
        style: function (f) {
          return {
            color: '#263238', weight: 1.5, opacity: 0.9, fillColor: f.properties.color, fillOpacity: 0.7,
            dashArray: f.properties.schematic ? '6 4' : null,
            className: 'essmap-qpv-shade essmap-qpv-' + g.generation
          };
        },
        onEachFeature: function (f, lyr) {
          var html = qpvHtml(data, f.properties);
          lyr.bindTooltip(html, { sticky: true, className: 'essmap-tooltip' });
          lyr.bindPopup(html, { maxWidth: 340 });
        }
      });
      if (g.visible) { layer.addTo(map); }
      overlays['Couverture des ' + h(g.label) + (g.schematic ? ' <em>(schématiques)</em>' : '')] = layer;
    });

    var rings = L.geoJSON(data.catchments, {
      renderer: canvas,
      style: function (f) { return { color: f.properties.color, weight: 1.2, opacity: 0.8, fill: false }; },
      onEachFeature: function (f, lyr) {
        lyr.bindTooltip('À moins de ' + Essmap.formatNumber(data.threshold) + '\u00a0m de ' + h(f.properties.name), { sticky: true });
      }
    }).addTo(map);
    overlays['Rayons de ' + Essmap.formatNumber(data.threshold) + '\u00a0m'] = rings;

    var gaps = L.geoJSON(data.gaps, {
      style: function () {
        return { color: '#b71c1c', weight: 2, dashArray: '5 4', fillColor: 'url(#essmap-hatch)', fillOpacity: 1, className: 'essmap-gap' };
      },
      onEachFeature: function (f, lyr) {
        var html = gapHtml(data, f.properties);
        lyr.bindTooltip(html, { sticky: true });
        lyr.bindPopup(html);
      }
    }).addTo(map);
    overlays['Zones non desservies'] = gaps;

    var points = L.layerGroup(data.supply.map(function (p) {
      return L.circleMarker([p.lat, p.lon], {
        renderer: canvas, radius: 6, color: '#fff', weight: 2, fillColor: colors[p.category] || '#555', fillOpacity: 1
      }).bindTooltip(h(p.name) + ' <small>(' + h(p.label) + ')</small>');
    })).addTo(map);
    overlays['Points d\u2019approvisionnement (' + Essmap.formatNumber(data.supply.length) + ')'] = points;

    if (data.sites.length) {
      var sites = L.layerGroup(data.sites.map(function (s) {
        return L.marker([s.lat, s.lon], {
          icon: L.divIcon({ className: 'essmap-site-icon', html: '<div class="essmap-site" data-rank="' + s.rank + '" style="width:28px;height:28px">' + s.rank + '</div>', iconSize: [28, 28] }),
          title: 'Site suggéré n° ' + s.rank, zIndexOffset: 1000
        }).bindPopup(siteHtml(data, s), { maxWidth: 300 });
      })).addTo(map);
      overlays['Sites suggérés (' + data.sites.length + ')'] = sites;
    }

    var base = {};
    if (options.tiles) { base['Fond de carte'] = options.tiles; }
    L.control.layers(base, overlays, { collapsed: Essmap.isSmallScreen(), position: 'topright' }).addTo(map);
    var legend = new Essmap.Panel({ position: 'topright', title: 'Légende', className: 'essmap-legend essmap-planner-legend' });
    legend.addTo(map);
    legend.setContent(legendHtml(data));
    Essmap.addFullscreen(map);
  }

  global.EssmapPlanner = {
    init: function (map, options) {
      var startedAt = performance.now();
      return Essmap.loadData(options.dataId).then(function (data) {
        build(map, options, data);
        global.essmapPlanner = { map: map, data: data };
        Essmap.ready(map, startedAt);
      }).catch(function (error) { Essmap.fail(map, error); });
    }
  };
})(window);
