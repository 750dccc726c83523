// Package sensorview shows the sensors of a running yujing on a
// terminal, as `yujing sensors ls` and `yujing sensors show` print them:
// fetched from its HTTP API, each with its status word — fault while a
// fault or stuck rule has an open warning on it, else online or offline —
// its last values and how long ago it was heard from, as an aligned table
// (Chinese names included), as JSON, or every field of one sensor.
package sensorview
