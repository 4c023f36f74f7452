/*
 * essmap planner map: QPVs shaded by coverage share at one threshold, gap polygons, catchment
 * rings, supply points and suggested sites, and in walk mode the walking isochrones of the supply
 * points; beside the map, an overview (a sortable table of the QPVs, the suggested sites,
 * downloads, the actors to verify again). Rendering only: every figure comes from the page's data
 * block, computed by essmap.analysis. New messages go through the page's catalogue (_).
 */
(function (global) {
  'use strict';

  var Essmap = global.Essmap;
  var h = Essmap.escapeHtml;
  var _ = Essmap._;
  var fmt = Essmap.fmt;
  var coordinatesFr = new Intl.NumberFormat('fr-FR', { minimumFractionDigits: 6, maximumFractionDigits: 6, useGrouping: false });

  function known(value) { return value !== null && value !== undefined; }
  function count(value) { return known(value) ? Essmap.formatNumber(Math.round(value)) : '—'; }
  function hectares(m2) {
    return new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 1 }).format(m2 / 10000) + '\u00a0ha';
  }
  /** Longitude and latitude for people: 6 decimals (about 10 cm). */
  function lonLat(lon, lat) { return coordinatesFr.format(lon) + ' ; ' + coordinatesFr.format(lat); }

  function decimalFr(value) { return new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 2 }).format(value); }

  /** The threshold for people: "400 m", or on foot "400 m à pied (5 min)". */
  function thresholdText(data) {
    var distance = Essmap.formatNumber(data.threshold) + '\u00a0m';
    if (!data.walk) { return distance; }
    return fmt(_('{distance} à pied ({minutes} min)'), { distance: distance, minutes: Essmap.formatNumber(Math.round(data.walk.thresholdMinutes)) });
  }

  /** How the distances of the page were measured, in walk mode (one sentence). */
  function walkMethodText(data) {
    var factor = decimalFr(data.walk.detourFactor);
    if (data.walk.method === 'network') { return _('Distances à pied sur le réseau de rues importé.'); }
    if (data.walk.method === 'mixed') {
      return fmt(_('Distances à pied sur le réseau de rues, estimées là où il ne va pas (vol d’oiseau × {factor}).'), { factor: factor });
    }
    return fmt(_('Distances à pied estimées : vol d’oiseau × {factor}, faute de réseau de rues importé.'), { factor: factor });
  }

  /** Where a QPV's nearest supply point is measured from in walk mode: its centre on the street
   * network, or its outline (times the detour factor) when no network is imported. */
  function walkNearestText(data) {
    if (data.walk.method === 'estimate') {
      return _('Point le plus proche estimé depuis le contour du quartier (0 m quand un point d’approvisionnement est dedans).');
    }
    return _('Point le plus proche mesuré à pied depuis le centre du quartier.');
  }

  /** The nearest supply point, measured from the QPV's outline: 0 m when one lies inside it (on
   * foot, from the QPV's centre). */
  function nearestText(metres, data) {
    if (!known(metres)) { return 'aucun'; }
    if (data && data.walk) {
      if (metres <= 0 && data.walk.method === 'estimate') { return 'dans le quartier (0\u00a0m)'; }
      return fmt(_('{distance} à pied'), { distance: Essmap.formatDistance(metres) });
    }
    if (metres <= 0) { return 'dans le quartier (0\u00a0m)'; }
    return Essmap.formatDistance(metres) + ' du quartier';
  }

  function shareText(p) {
    if (p.share === null) { return 'pas de donnée'; }
    return Essmap.formatPercent(p.share) + (p.basis === 'residents' ? ' des habitants' : ' de la surface');
  }

  function outlineText(data, source) {
    return source ? (data.geometrySources[source] || source) : 'origine du contour inconnue';
  }

  function qpvHtml(data, p) {
    var t = Essmap.formatNumber(data.threshold);
    var rows = [];
    function row(label, value) { rows.push('<tr><td>' + label + '</td><td><strong>' + value + '</strong></td></tr>'); }
    row('Part couverte à ' + t + '\u00a0m', shareText(p));
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
    row('Point d\u2019approvisionnement le plus proche', nearestText(p.nearestSupplyM, data));
    row('Contour', h(outlineText(data, p.geometrySource)));
    var parts = ['<div class="essmap-qpv-info" data-qpv-code="' + h(p.code) + '">',
      '<strong>' + h(p.name) + '</strong> <small>(' + h(p.code) + ', QPV ' + h(p.generation) + (p.communes ? ', ' + h(p.communes) : '') + ')</small>'];
    if (p.schematic) { parts.push('<p class="essmap-warning">\u26a0 ' + h(data.schematicNote) + '</p>'); }
    parts.push('<table class="essmap-tooltip-table">' + rows.join('') + '</table>');
    if (p.lowAccess) { parts.push('<p class="essmap-warning"><strong>Accès faible</strong> : une part importante des habitants est au-delà du seuil.</p>'); }
    if (data.walk) {
      parts.push('<p class="essmap-hint">' + h(walkMethodText(data)) + ' ' + h(walkNearestText(data)) + ' ' +
        h(data.methodLabels[p.method] || p.method) + '.</p></div>');
    } else {
      parts.push('<p class="essmap-hint">Méthode : distances à vol d\u2019oiseau, le point le plus proche mesuré depuis le contour du quartier ; ' +
        h(data.methodLabels[p.method] || p.method) + '.</p></div>');
    }
    return parts.join('');
  }

  function gapHtml(data, p) {
    return '<div class="essmap-gap-info"><strong>Zone non desservie</strong> à ' + Essmap.formatNumber(data.threshold) + '\u00a0m<br>' +
      h(p.name) + ' (' + h(p.code) + ')<br>' +
      (p.residents !== null && p.method !== 'none' ? count(p.residents) + ' habitants, ' : '') +
      (p.areaM2 !== null ? hectares(p.areaM2) : '') +
      '<br><small>' + h(data.methodLabels[p.method] || p.method) + '</small>' +
      (p.schematic ? '<br><small>\u26a0 Contour schématique : tracé approximatif.</small>' : '') + '</div>';
  }

  function addressText(s) {
    if (!s.address) { return ''; }
    return 'Adresse la plus proche : ' + h(s.address.label) + ' (à ' + Essmap.formatDistance(s.address.distanceM) + ')';
  }

  function siteHtml(data, s) {
    return '<div class="essmap-popup essmap-site-info"><h3 class="essmap-popup-title">Site suggéré n°\u00a0' + s.rank + '</h3>' +
      (data.walk ? '<p><strong>+' + count(s.gain) + ' habitants</strong> ' + h(fmt(_('à moins de {threshold}'), { threshold: thresholdText(data) })) + '</p>'
        : '<p><strong>+' + count(s.gain) + ' habitants</strong> à moins de ' + Essmap.formatNumber(data.threshold) + '\u00a0m (à vol d\u2019oiseau)</p>') +
      '<p>Total avec les sites précédents : ' + count(s.cumulative) + ' habitants</p>' +
      (s.qpvName ? '<p>Quartier le plus servi : ' + h(s.qpvName) + ' (' + h(s.code) + ')</p>' : '') +
      '<p>Coordonnées (lon ; lat) : <span class="essmap-coordinates">' + lonLat(s.lon, s.lat) + '</span></p>' +
      (s.address ? '<p>' + addressText(s) + '</p>' : '') + '</div>';
  }

  function legendHtml(data) {
    var t = Essmap.formatNumber(data.threshold);
    var parts = ['<section><h2>Part des habitants à moins de ' + t + '\u00a0m d\u2019un point d\u2019approvisionnement</h2><ul class="essmap-legend-list essmap-classes">'];
    data.classes.slice().reverse().forEach(function (c) {
      parts.push('<li><span class="essmap-swatch essmap-swatch-fill" style="background:' + c.color + '"></span> ' + h(c.label) + '</li>');
    });
    parts.push('<li><span class="essmap-swatch essmap-swatch-fill" style="background:' + data.noDataColor + '"></span> pas de donnée</li></ul>');
    parts.push('<p class="essmap-hint">Part de la surface quand la population du quartier est inconnue.</p></section>');
    parts.push('<section><h2>Sur la carte</h2><ul class="essmap-legend-list">');
    parts.push('<li><span class="essmap-swatch essmap-swatch-gap"></span> zone non desservie à ' + t + '\u00a0m (hachures)</li>');
    if (data.walk) {
      parts.push('<li><span class="essmap-swatch" style="border:1.5px solid #1565c0;border-radius:50%"></span> ' +
        h(fmt(_('zone à {threshold} d’un point (couleur de sa catégorie)'), { threshold: thresholdText(data) })) + '</li>');
    } else {
      parts.push('<li><span class="essmap-swatch" style="border:1.5px solid #1565c0;border-radius:50%"></span> rayon de ' + t + '\u00a0m autour d\u2019un point (couleur de sa catégorie)</li>');
    }
    parts.push('<li><span class="essmap-swatch" style="border:2px solid #fff;background:#555;border-radius:50%;width:12px;height:12px"></span> point d\u2019approvisionnement</li>');
    if (data.sites.length) {
      parts.push('<li><span class="essmap-site" style="display:inline-block;width:22px;height:22px;line-height:18px">1</span> site suggéré (ordre de choix)</li>');
    }
    parts.push('</ul></section>');
    if (data.walk) { parts.push(isochroneLegendHtml(data)); }
    var methods = Object.keys(data.methods).map(function (k) { return h(data.methods[k]); });
    var distances = data.walk ? h(walkMethodText(data)) + ' ' + h(fmt(_('Seuil : {threshold}.'), { threshold: thresholdText(data) })) + ' '
      : 'Distances à vol d\u2019oiseau (en ligne droite), seuil ' + t + '\u00a0m. ';
    parts.push('<section><h2>Méthode</h2><p class="essmap-hint">' + distances +
      'Points d\u2019approvisionnement : ' + h(data.supplyCategories.join(', ')) + '. ' +
      (methods.length ? 'Habitants : ' + methods.join(' ; ') + '.' : '') + '</p></section>');
    if (data.qpv.some(function (g) { return g.schematic; })) {
      parts.push('<p class="essmap-hint">\u26a0 Contours schématiques (approximatifs) : ' + h(data.schematicNote) + '</p>');
    }
    return parts.join('');
  }

  /**
   * A popup and a tooltip with the same text on one layer: never both at once. The popup closes
   * the tooltip, and no tooltip opens while it is open (:func:`tooltipsWaitForPopups`).
   */
  /**
   * While a popup is open, no tooltip opens on the map: the popup says what the tooltips would,
   * and after it pans into view the pointer may rest on another shape (a QPV under its gap).
   */
  function tooltipsWaitForPopups(map) {
    var popupOpen = false;
    map.on('popupopen', function () { popupOpen = true; });
    map.on('popupclose', function () { popupOpen = false; });
    map.on('tooltipopen', function (e) {
      if (popupOpen) { map.closeTooltip(e.tooltip); }
    });
  }

  function popupNotTooltip(lyr, html, tooltipOptions, popupOptions) {
    // the tooltip first: a click opens it (a no-op when hovering has) before it opens the popup,
    // which then closes it; the other way round it would open again at once, and Leaflet can
    // leave the element of a tooltip closed and reopened that fast on the map
    lyr.bindTooltip(html, tooltipOptions);
    lyr.bindPopup(html, popupOptions);
    lyr.on('popupopen', function () { lyr.closeTooltip(); });
  }

  // --- walking isochrones (walk mode) -----------------------------------------------------------

  function minutesList(data) {
    return data.walk.minutes.map(function (m) { return Essmap.formatNumber(m.minutes); }).join(', ');
  }

  function isochroneLayerLabel(data) {
    var label = fmt(_('Isochrones à pied ({minutes} min)'), { minutes: minutesList(data) });
    if (data.walk.method === 'estimate') { label = fmt(_('Zones à pied estimées ({minutes} min, sans réseau de rues)'), { minutes: minutesList(data) }); }
    if (data.walk.method === 'mixed') { label += ' ' + _('(en partie estimées)'); }
    return h(label);
  }

  function isochroneText(p) {
    var text = fmt(_('{name} : à {minutes} min à pied ({distance})'), {
      name: p.name, minutes: Essmap.formatNumber(p.minutes), distance: Essmap.formatDistance(p.distanceM)
    });
    return p.method === 'estimate' ? text + ' — ' + _('estimation (pas de réseau de rues ici)') : text;
  }

  /** The isochrones of the supply points, the longest walks first (beneath the shorter ones). */
  function isochroneLayer(data) {
    return L.geoJSON(data.walk.isochrones, {
      style: function (f) {
        var p = f.properties;
        return {
          color: p.color, weight: 1.5, opacity: 0.9, fillColor: p.color, fillOpacity: 0.06,
          dashArray: p.method === 'estimate' ? '4 4' : null,
          className: 'essmap-isochrone essmap-isochrone-' + p.method
        };
      },
      onEachFeature: function (f, lyr) { lyr.bindTooltip(h(isochroneText(f.properties)), { sticky: true }); }
    });
  }

  function isochroneLegendHtml(data) {
    var parts = ['<section class="essmap-isochrone-legend"><h2>' + h(_('Isochrones à pied')) + '</h2><ul class="essmap-legend-list">'];
    data.walk.minutes.forEach(function (m) {
      var metres = m.minutes * data.walk.speedKmh * 1000 / 60;
      parts.push('<li><span class="essmap-swatch" style="border:2px solid ' + m.color + '"></span> ' +
        h(fmt(_('{minutes} min à pied ({distance})'), { minutes: Essmap.formatNumber(m.minutes), distance: Essmap.formatDistance(metres) })) + '</li>');
    });
    parts.push('</ul><p class="essmap-hint">' + h(fmt(_('À {speed} km/h.'), { speed: decimalFr(data.walk.speedKmh) })) + ' ');
    if (data.walk.method === 'network') {
      parts.push(h(_('Calculées sur le réseau de rues : une isochrone ne franchit une rivière que par un pont.')));
    } else if (data.walk.method === 'mixed') {
      parts.push(h(fmt(_('Sur le réseau de rues ; en pointillés, estimées là où il ne va pas (disques de la distance divisée par {factor}).'), { factor: decimalFr(data.walk.detourFactor) })));
    } else {
      parts.push(h(fmt(_('Estimation, en pointillés : pas de réseau de rues importé ; disques de la distance à pied divisée par le facteur de détour ({factor}).'), { factor: decimalFr(data.walk.detourFactor) })));
    }
    parts.push('</p></section>');
    return parts.join('');
  }

  // --- actors to verify again ---------------------------------------------------------------------

  var dateFr = new Intl.DateTimeFormat('fr-FR', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

  function verifiedText(iso) {
    if (!iso) { return _('jamais'); }
    var when = new Date(iso + 'T00:00:00Z');
    return isNaN(when.getTime()) ? iso : dateFr.format(when);
  }

  function staleHtml(data) {
    var stale = data.stale;
    if (!stale) { return ''; }
    var parts = ['<section class="essmap-overview-stale" aria-labelledby="essmap-stale-title"><h2 id="essmap-stale-title">' + h(stale.title) + '</h2>'];
    if (stale.actors.length) {
      parts.push('<p class="essmap-hint">' + h(_('Jamais vérifiés d’abord, puis les plus anciens. Un éditeur confirme une fiche à jour par l’API (verify).')) + '</p>');
      parts.push('<div class="essmap-table-wrap essmap-stale-wrap" role="region" aria-labelledby="essmap-stale-title" tabindex="0"><table class="essmap-stale-table"><thead><tr>' +
        '<th scope="col">' + h(_('Acteur')) + '</th><th scope="col">' + h(_('Catégorie')) + '</th><th scope="col">' + h(_('Vérifié le')) + '</th></tr></thead><tbody>');
      stale.actors.forEach(function (a) {
        parts.push('<tr data-actor-id="' + h(a.id) + '" data-last-verified="' + h(a.lastVerified || '') + '"><th scope="row">' + h(a.name) +
          (a.commune ? '<br><small>' + h(a.commune) + '</small>' : '') + '</th><td>' + h(a.category) + '</td><td>' + h(verifiedText(a.lastVerified)) + '</td></tr>');
      });
      parts.push('</tbody></table></div>');
      if (stale.moreNote) { parts.push('<p class="essmap-hint">' + h(stale.moreNote) + '</p>'); }
    }
    parts.push('</section>');
    return parts.join('');
  }

  // --- the overview beside the map ------------------------------------------------------------

  var COLUMNS = [
    { key: 'name', label: 'Quartier', type: 'text' },
    { key: 'share', label: 'Part couverte', type: 'number' },
    { key: 'uncovered', label: 'Habitants au-delà du seuil', type: 'number' },
    { key: 'nearest', label: 'Point le plus proche', type: 'number' },
    { key: 'lowAccess', label: 'Accès faible', type: 'number' }
  ];

  function overviewRows(data, layers) {
    var rows = [];
    data.qpv.forEach(function (g) {
      g.features.features.forEach(function (f) {
        var p = f.properties;
        rows.push({
          p: p,
          layer: layers[g.generation + '/' + p.code],
          name: p.name,
          share: p.share,
          uncovered: p.method !== 'none' ? p.residentsUncovered : null,
          nearest: p.nearestSupplyM,
          lowAccess: p.lowAccess ? 1 : 0
        });
      });
    });
    return rows;
  }

  function compare(column, direction) {
    return function (a, b) {
      var x = a[column.key];
      var y = b[column.key];
      if (!known(x) && !known(y)) { return a.name.localeCompare(b.name, 'fr'); }
      if (!known(x)) { return 1; }  // unknown values last, whatever the direction
      if (!known(y)) { return -1; }
      var order = column.type === 'text' ? String(x).localeCompare(String(y), 'fr') : x - y;
      return (order || a.name.localeCompare(b.name, 'fr')) * direction;
    };
  }

  function rowHtml(data, r, index) {
    var p = r.p;
    var outline = p.geometrySource === 'official' ? '' : '<br><small>' + h(outlineText(data, p.geometrySource)) + '</small>';
    return '<tr data-qpv-code="' + h(p.code) + '">' +
      '<th scope="row"><button type="button" class="essmap-link" data-row="' + index + '" aria-label="' +
        h(p.name + ' : voir sur la carte') + '">' + h(p.name) + '</button><br><small>' + h(p.code) + ', QPV ' + h(p.generation) + '</small>' + outline + '</th>' +
      '<td>' + shareText(p) + '</td>' +
      '<td>' + count(r.uncovered) + '</td>' +
      '<td>' + nearestText(p.nearestSupplyM, data) + '</td>' +
      '<td>' + (p.lowAccess ? '<span class="essmap-badge essmap-badge-low">oui</span>' : 'non') + '</td></tr>';
  }

  function sitesHtml(data) {
    if (!data.sitesRequested) { return ''; }
    var parts = ['<section class="essmap-overview-sites" aria-labelledby="essmap-sites-title"><h2 id="essmap-sites-title">Sites suggérés (' +
      data.sites.length + ' sur ' + data.sitesRequested + ' demandés)</h2>'];
    if (data.sites.length) {
      parts.push('<ol class="essmap-site-list">');
      data.sites.forEach(function (s, i) {
        parts.push('<li data-rank="' + s.rank + '"><p><strong>+' + count(s.gain) + ' habitants</strong> à moins de ' +
          (data.walk ? h(thresholdText(data)) : Essmap.formatNumber(data.threshold) + '\u00a0m') + (s.qpvName ? ', surtout pour ' + h(s.qpvName) : '') + '</p>' +
          '<p>Coordonnées (lon ; lat) : <span class="essmap-coordinates">' + lonLat(s.lon, s.lat) + '</span></p>' +
          (s.address ? '<p class="essmap-site-address">' + addressText(s) + '</p>' : '') +
          '<button type="button" class="essmap-link" data-site="' + i + '">Voir le site n°\u00a0' + s.rank + ' sur la carte</button></li>');
      });
      parts.push('</ol>');
    }
    if (data.sitesNote) { parts.push('<p class="essmap-hint essmap-sites-note">' + h(data.sitesNote) + '</p>'); }
    parts.push('</section>');
    return parts.join('');
  }

  function outlinesNote(data) {
    var counts = {};
    data.qpv.forEach(function (g) {
      g.features.features.forEach(function (f) {
        var key = f.properties.geometrySource || 'unknown';
        counts[key] = (counts[key] || 0) + 1;
      });
    });
    var parts = Object.keys(counts).sort().map(function (k) {
      return h(k === 'unknown' ? 'origine inconnue' : outlineText(data, k)) + ' : ' + counts[k];
    });
    var note = '<p class="essmap-hint essmap-outlines">Contours des quartiers : ' + parts.join(' ; ') + '.';
    if (counts.schematic) { note += ' ' + h(data.schematicNote); }
    return note + '</p>';
  }

  function drawOverview(map, data, layers, siteMarkers) {
    var aside = document.getElementById('essmap-overview');
    if (!aside) { return; }
    var t = Essmap.formatNumber(data.threshold);
    var rows = overviewRows(data, layers);
    var state = { column: COLUMNS[2], direction: -1 };
    var downloads = data.downloads;
    aside.innerHTML =
      '<h1 id="essmap-overview-title">Vue d\u2019ensemble des quartiers</h1>' +
      (data.walk
        ? '<p class="essmap-hint essmap-overview-mode">' + h(fmt(_('Seuil de {threshold}.'), { threshold: thresholdText(data) })) + ' ' + h(walkNearestText(data)) + ' ' + h(walkMethodText(data)) + '</p>'
        : '<p class="essmap-hint essmap-overview-mode">Seuil de ' + t + '\u00a0m à vol d\u2019oiseau ; point le plus proche mesuré depuis le contour du quartier (0\u00a0m quand un point d\u2019approvisionnement est dedans).</p>') +
      outlinesNote(data) +
      '<p class="essmap-downloads"><a class="essmap-download" href="' + h(downloads.csv) + '" download="' + h(downloads.csvName) + '">Télécharger le tableau (CSV pour tableur)</a>' +
      (downloads.png ? ' <a class="essmap-download" href="' + h(downloads.png) + '" download="' + h(downloads.pngName) + '">Télécharger la carte (PNG)</a>' : '') +
      (downloads.data ? ' <a class="essmap-download" href="' + h(downloads.data) + '">' + h(_('Données exactes (CSV pour les programmes)')) + '</a>' : '') + '</p>' +
      '<div class="essmap-table-wrap" role="region" aria-labelledby="essmap-table-caption" tabindex="0"><table class="essmap-overview-table">' +
      '<caption id="essmap-table-caption">' + (data.walk ? h(fmt(_('Couverture des quartiers prioritaires à {threshold} (triez en choisissant une colonne)'), { threshold: thresholdText(data) }))
        : 'Couverture des quartiers prioritaires à ' + t + '\u00a0m (triez en choisissant une colonne)') + '</caption><thead><tr>' +
      COLUMNS.map(function (c, i) {
        return '<th scope="col" data-column="' + i + '"><button type="button" class="essmap-sort" data-column="' + i + '">' + h(c.label) +
          '<span class="essmap-sort-mark" aria-hidden="true"></span></button></th>';
      }).join('') + '</tr></thead><tbody></tbody></table></div>' +
      '<p class="essmap-visually-hidden" role="status" aria-live="polite" id="essmap-sort-status"></p>' +
      sitesHtml(data) + staleHtml(data);
    var body = aside.querySelector('tbody');
    var status = aside.querySelector('#essmap-sort-status');

    function render(announce) {
      rows.sort(compare(state.column, state.direction));
      body.innerHTML = rows.map(function (r, i) { return rowHtml(data, r, i); }).join('');
      aside.querySelectorAll('th[data-column]').forEach(function (th) {
        var sorted = COLUMNS[Number(th.dataset.column)] === state.column;
        if (sorted) { th.setAttribute('aria-sort', state.direction > 0 ? 'ascending' : 'descending'); } else { th.removeAttribute('aria-sort'); }
        th.querySelector('.essmap-sort-mark').textContent = sorted ? (state.direction > 0 ? ' \u25b2' : ' \u25bc') : '';
      });
      if (announce) {
        status.textContent = 'Tableau trié par « ' + state.column.label + ' », ' + (state.direction > 0 ? 'ordre croissant' : 'ordre décroissant') + '.';
      }
    }

    function showOnMap(layer, openLayer) {
      if (Essmap.isSmallScreen()) { map.getContainer().scrollIntoView({ block: 'start' }); }
      openLayer(layer);
      var content = map.getContainer().querySelector('.leaflet-popup-content');
      if (content) { content.setAttribute('tabindex', '-1'); content.focus({ preventScroll: true }); }
    }

    aside.addEventListener('click', function (event) {
      var sort = event.target.closest('button.essmap-sort');
      if (sort) {
        var column = COLUMNS[Number(sort.dataset.column)];
        state.direction = column === state.column ? -state.direction : (column.type === 'text' ? 1 : -1);
        state.column = column;
        render(true);
        return;
      }
      var qpv = event.target.closest('button[data-row]');
      if (qpv) {
        var layer = rows[Number(qpv.dataset.row)].layer;
        if (layer) {
          showOnMap(layer, function (l) {
            map.fitBounds(l.getBounds(), { maxZoom: 16, animate: false });
            l.openPopup(l.getBounds().getCenter());
          });
        }
        return;
      }
      var site = event.target.closest('button[data-site]');
      if (site) {
        var marker = siteMarkers[Number(site.dataset.site)];
        showOnMap(marker, function (m) {
          map.setView(m.getLatLng(), Math.max(map.getZoom(), 15), { animate: false });
          m.openPopup();
        });
      }
    });
    render(false);
  }

  function build(map, options, data) {
    Essmap.addGlyphSprite(data.categories);
    Essmap.frenchControls(map);
    Essmap.fitData(map, data.bounds);
    Essmap.popupsClearControls(map);
    map.getContainer().setAttribute('role', 'main');
    map.getContainer().setAttribute('aria-label', 'Carte des aménageurs : couverture des quartiers prioritaires');
    if (data.attribution) { map.attributionControl.addAttribution(data.attribution); }
    var canvas = L.canvas({ padding: 0.5 });
    var colors = {};
    data.categories.forEach(function (c) { colors[c.key] = c.color; });
    var overlays = {};
    var qpvLayers = {};
    var withPopups = [];

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
          popupNotTooltip(lyr, qpvHtml(data, f.properties), { sticky: true, className: 'essmap-tooltip' }, { maxWidth: 340 });
          qpvLayers[g.generation + '/' + f.properties.code] = lyr;
          withPopups.push(lyr);
        }
      });
      if (g.visible) { layer.addTo(map); }
      overlays['Couverture des ' + h(g.label) + (g.schematic ? ' <em>(schématiques)</em>' : '')] = layer;
    });

    var rings = L.geoJSON(data.catchments, {
      renderer: canvas,
      style: function (f) { return { color: f.properties.color, weight: 1.2, opacity: 0.8, fill: false }; },
      onEachFeature: function (f, lyr) {
        lyr.bindTooltip(data.walk ? h(fmt(_('À moins de {threshold} de {name}'), { threshold: thresholdText(data), name: f.properties.name }))
          : 'À moins de ' + Essmap.formatNumber(data.threshold) + '\u00a0m de ' + h(f.properties.name), { sticky: true });
      }
    });
    var isochrones = null;
    if (data.walk) {
      // on foot, the threshold's catchments are isochrones too: the isochrone layer shows them
      overlays[h(fmt(_('Zones à {threshold}'), { threshold: thresholdText(data) }))] = rings;
      isochrones = isochroneLayer(data).addTo(map);
      overlays[isochroneLayerLabel(data)] = isochrones;
    } else {
      rings.addTo(map);
      overlays['Rayons de ' + Essmap.formatNumber(data.threshold) + '\u00a0m'] = rings;
    }

    var gaps = L.geoJSON(data.gaps, {
      style: function () {
        return { color: '#b71c1c', weight: 2, dashArray: '5 4', fillColor: 'url(#essmap-hatch)', fillOpacity: 1, className: 'essmap-gap' };
      },
      onEachFeature: function (f, lyr) {
        popupNotTooltip(lyr, gapHtml(data, f.properties), { sticky: true }, {});
        withPopups.push(lyr);
      }
    }).addTo(map);
    overlays['Zones non desservies'] = gaps;

    var points = L.layerGroup(data.supply.map(function (p) {
      return L.circleMarker([p.lat, p.lon], {
        renderer: canvas, radius: 6, color: '#fff', weight: 2, fillColor: colors[p.category] || '#555', fillOpacity: 1
      }).bindTooltip(h(p.name) + ' <small>(' + h(p.label) + ')</small>');
    })).addTo(map);
    overlays['Points d\u2019approvisionnement (' + Essmap.formatNumber(data.supply.length) + ')'] = points;

    var siteMarkers = data.sites.map(function (s) {
      return L.marker([s.lat, s.lon], {
        icon: L.divIcon({ className: 'essmap-site-icon', html: '<div class="essmap-site" data-rank="' + s.rank + '" style="width:28px;height:28px">' + s.rank + '</div>', iconSize: [28, 28] }),
        title: 'Site suggéré n° ' + s.rank, alt: 'Site suggéré n° ' + s.rank, zIndexOffset: 1000
      }).bindPopup(siteHtml(data, s), { maxWidth: 300 });
    });
    withPopups.push.apply(withPopups, siteMarkers);
    if (siteMarkers.length) {
      overlays['Sites suggérés (' + siteMarkers.length + ')'] = L.layerGroup(siteMarkers).addTo(map);
    }

    var base = {};
    if (options.tiles) { base['Fond de carte'] = options.tiles; }
    // collapsed: the overview beside the map leaves it less room
    L.control.layers(base, overlays, { collapsed: true, position: 'topright' }).addTo(map);
    var legend = new Essmap.Panel({ position: 'topright', title: 'Légende', className: 'essmap-legend essmap-planner-legend' });
    legend.addTo(map);
    legend.setContent(legendHtml(data));
    Essmap.addFullscreen(map);
    Essmap.fitData(map, data.bounds, legend.getContainer().offsetWidth + 30);  // beside the legend
    // popups open clear of the legend on the right (the map pans to make room)
    var room = L.point(Essmap.isSmallScreen() ? 20 : legend.getContainer().offsetWidth + 20, 20);
    withPopups.forEach(function (lyr) { lyr.getPopup().options.autoPanPaddingBottomRight = room; });
    drawOverview(map, data, qpvLayers, siteMarkers);
    return { isochrones: isochrones, catchments: rings };
  }

  global.EssmapPlanner = {
    init: function (map, options) {
      var startedAt = performance.now();
      return Essmap.loadData(options.dataId).then(function (data) {
        Essmap.messages = data.messages || {};
        tooltipsWaitForPopups(map);
        var layers = build(map, options, data);
        global.essmapPlanner = { map: map, data: data, layers: layers };
        Essmap.ready(map, startedAt);
      }).catch(function (error) { Essmap.fail(map, error); });
    }
  };
})(window);
