"""Maps: the resident and planner web maps (folium + essmap's JavaScript) and static images.

Rendering only: figures come from :mod:`essmap.analysis` and :mod:`essmap.index`; nothing is
computed here. Every text a user reads is in French.

- :func:`essmap.maps.resident.render_resident_map` -> HTML page
- :func:`essmap.maps.planner.render_planner_map` -> HTML page
- :func:`essmap.maps.static.render_static_map` -> PNG bytes
- :mod:`essmap.maps.assets`: the JavaScript and CSS, inline or under a URL prefix
"""
