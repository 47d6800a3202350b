package reports

import (
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// band is an x interval filled with one color: over the plot's whole
// height (full), or over [y0, y1] in data coordinates (a timeline's lane).
type band struct {
	label  string // bands with one label share a legend entry
	x0, x1 float64
	y0, y1 float64
	full   bool
	color  color.Color
}

// bandWidthMin is the narrowest a band is drawn, so that a fault that
// starts and ends at once (a partition replaced at the next step) still
// shows.
const bandWidthMin = vg.Length(1.5)

// bands is a plot.Plotter of bands, drawn in order. gonum/plot has
// polygons in data coordinates, but a band over the whole height must
// reach the plot's edges whatever the y range (and the log scale) turns
// out to be, so its y comes from the canvas.
type bands []band

func (bs bands) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, b := range bs {
		x0, x1 := trX(b.x0), trX(b.x1)
		if x1-x0 < bandWidthMin {
			x1 = x0 + bandWidthMin
		}
		y0, y1 := c.Min.Y, c.Max.Y
		if !b.full {
			y0, y1 = trY(b.y0), trY(b.y1)
		}
		rect := []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
		c.FillPolygon(b.color, c.ClipPolygonXY(rect))
	}
}

// DataRange widens the x axis to the bands; full-height bands leave the y
// axis to the data (±Inf are neutral in plot.Add's min and max).
func (bs bands) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax, ymin, ymax = math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, b := range bs {
		xmin, xmax = math.Min(xmin, b.x0), math.Max(xmax, b.x1)
		if !b.full {
			ymin, ymax = math.Min(ymin, b.y0), math.Max(ymax, b.y1)
		}
	}
	return xmin, xmax, ymin, ymax
}

// swatch is a legend thumbnail filled with one color.
type swatch struct{ color color.Color }

func (s swatch) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(s.color, []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}})
}

// addBandLegend adds one entry per label, in the order labels first
// appear.
func addBandLegend(legend *plot.Legend, bs []band) {
	var seen []string
	for _, b := range bs {
		if b.label == "" || slices.Contains(seen, b.label) {
			continue
		}
		seen = append(seen, b.label)
		legend.Add(b.label, swatch{b.color})
	}
}
