// Package sheet imports sensors from the spreadsheet integrators keep,
// saved as CSV by Excel or WPS (UTF-8 with or without BOM, GB18030/GBK,
// UTF-16; commas, semicolons or tabs; English or Chinese headers), or
// given as a JSON list of sensors.
//
// Parse reads a sheet and reports each problem at its line and column.
// Import then plans every row against the sensors in force — create,
// update (an empty cell keeps the current value) or unchanged — and hands
// the changes to a Catalog (ingest.Catalog) that checks them all together
// and applies them all or none. The server (POST /api/v1/sensors/import),
// the console and `yujing sensors import -dry-run` offline all run this
// code, so a dry run finds every problem the real import would.
package sheet
