//go:build !race

package influx_test

const raceEnabled = false
