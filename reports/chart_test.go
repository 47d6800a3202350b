package reports

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNinesAxis(t *testing.T) {
	for p, x := range map[float64]float64{0: 0, 90: 1, 99: 2, 99.9: 3, 99.99: 4, 99.999: 5} {
		assert.InDelta(t, x, ninesX(p), 1e-9, "p%v", p)
	}
	var labels []string
	for _, tk := range ninesTicks(0, 5) {
		labels = append(labels, tk.Label)
	}
	assert.Equal(t, []string{"0%", "50%", "90%", "99%", "99.9%", "99.99%", "99.999%"}, labels)
	assert.Len(t, ninesTicks(0, 2), 4, "ticks stop at the axis' end")
}

func TestChartNeedsData(t *testing.T) {
	_, err := chart{title: "empty", series: []series{{label: "a", xs: []float64{1}, ys: []float64{math.NaN()}}}}.png()
	assert.ErrorContains(t, err, "no data")
}

// A log axis over zero values draws them at the floor; a range inside one
// decade still gets labelled decades.
func TestChartLogY(t *testing.T) {
	c := chart{title: "log", logY: true, series: []series{{label: "a", xs: []float64{0, 1, 2}, ys: []float64{0, 2, 3}, color: paletteColor(0)}}}
	data, err := c.png()
	require.NoError(t, err)
	img := decodePNG(t, data)
	assert.Greater(t, colored(img, paletteColor(0)), 100)
}

func TestFormatting(t *testing.T) {
	assert.Equal(t, "1,234,568", count(1234567.6))
	assert.Equal(t, "-1,000", count(-1000))
	assert.Equal(t, "999", count(999))
	assert.Equal(t, "—", number(math.NaN()))
	assert.Equal(t, "12.3", number(12.34))
	assert.Equal(t, "0.0123", number(0.01234))
	assert.Equal(t, "1-topic-kb", slug("1 topic / KB"))
	assert.Equal(t, `a\|b<br>c`, mdCell("a|b\nc"))
}
