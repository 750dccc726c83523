// Package geojson reads outlines from GeoJSON (RFC 7946): the boundary a
// site's configuration names (sites: boundary), drawn on the console's
// wall-screen map. It reads polygons only, and thins them to what a
// screen can show.
package geojson
