package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Chart sizes: the plot area, plus a strip under it for the legend (a
// legend inside the plot would hide data).
const (
	chartWidth  = 7.5 * vg.Inch
	chartHeight = 3.4 * vg.Inch
	legendGap   = 6 // points above and below the legend strip
)

// seriesStyle is how a series is drawn.
type seriesStyle int

const (
	lineStyle       seriesStyle = iota // a line: dense data (quantile curves)
	linePointsStyle                    // a line with a glyph at each point: a few windows
	pointsStyle                        // glyphs only: a scatter
)

// series is one labelled set of points.
type series struct {
	label  string
	xs, ys []float64
	color  color.Color
	dashes []vg.Length
	style  seriesStyle
}

// chart is a 2-D chart of series. A nines x axis takes values already
// transformed by ninesX and labels them as percentiles.
type chart struct {
	title, xLabel, yLabel string
	series                []series
	ninesX                bool
	logY                  bool // values ≤ 0 are drawn at the smallest positive value
	yFromZero             bool
	// padded widens the x range on both sides and the y range at the
	// top, so glyphs at the extremes do not sit on the axes.
	padded bool
	// shades are drawn first, over the plot's whole height, so the data
	// shows through them: fault windows behind a latency scatter.
	shades []band
}

// points counts the finite points the chart would draw.
func (c chart) points() int {
	n := 0
	for _, s := range c.series {
		for i := range min(len(s.xs), len(s.ys)) {
			if finite(s.xs[i]) && finite(s.ys[i]) {
				n++
			}
		}
	}
	return n
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// png draws the chart. It errs on a chart without data: a report never
// shows an empty frame as if it were a result.
func (c chart) png() ([]byte, error) {
	if c.points() == 0 {
		return nil, fmt.Errorf("chart %q: no data", c.title)
	}
	p := plot.New()
	p.Title.Text = c.title
	p.X.Label.Text, p.Y.Label.Text = c.xLabel, c.yLabel
	if len(c.shades) > 0 {
		p.Add(bands(c.shades))
	}
	p.Add(plotter.NewGrid())
	legend := newLegend()
	floor := positiveFloor(c.series)
	logY := c.logY && floor > 0
	for _, s := range c.series {
		if err := addSeries(p, &legend, s, logY, floor); err != nil {
			return nil, fmt.Errorf("chart %q: %w", c.title, err)
		}
	}
	addBandLegend(&legend, c.shades)
	c.setAxes(p, logY)
	return drawPNG(p, legend, chartHeight)
}

func newLegend() plot.Legend {
	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	legend.TextStyle.Font.Size = vg.Points(10)
	legend.Padding = vg.Points(3)
	return legend
}

// positiveFloor is the smallest positive y, or 0 if there is none.
func positiveFloor(ss []series) float64 {
	floor := math.Inf(1)
	for _, s := range ss {
		for _, y := range s.ys {
			if y > 0 && finite(y) {
				floor = math.Min(floor, y)
			}
		}
	}
	if math.IsInf(floor, 1) {
		return 0
	}
	return floor
}

func addSeries(p *plot.Plot, legend *plot.Legend, s series, logY bool, floor float64) error {
	xys := make(plotter.XYs, 0, len(s.xs))
	for i := range min(len(s.xs), len(s.ys)) {
		x, y := s.xs[i], s.ys[i]
		if !finite(x) || !finite(y) {
			continue
		}
		if logY && y < floor {
			y = floor
		}
		xys = append(xys, plotter.XY{X: x, Y: y})
	}
	if len(xys) == 0 {
		return nil
	}
	lineStyle := draw.LineStyle{Color: s.color, Width: vg.Points(1.5), Dashes: s.dashes}
	glyphs := draw.GlyphStyle{Color: s.color, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}
	var thumbs []plot.Thumbnailer
	switch s.style {
	case pointsStyle:
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return err
		}
		sc.GlyphStyle = glyphs
		sc.GlyphStyle.Radius = vg.Points(1.5)
		p.Add(sc)
		thumbs = append(thumbs, sc)
	case linePointsStyle:
		l, sc, err := plotter.NewLinePoints(xys)
		if err != nil {
			return err
		}
		l.LineStyle, sc.GlyphStyle = lineStyle, glyphs
		p.Add(l, sc)
		thumbs = append(thumbs, l, sc)
	default:
		l, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		l.LineStyle = lineStyle
		p.Add(l)
		thumbs = append(thumbs, l)
	}
	if s.label != "" {
		legend.Add(s.label, thumbs...)
	}
	return nil
}

// setAxes fixes the ranges and ticks once the data is in.
func (c chart) setAxes(p *plot.Plot, logY bool) {
	if c.ninesX {
		p.X.Min = 0
		p.X.Max = math.Min(ninesMax, math.Max(1, math.Ceil(p.X.Max-1e-9)))
		p.X.Tick.Marker = plot.TickerFunc(ninesTicks)
	}
	if c.padded && !c.ninesX {
		pad := 0.04 * math.Max(p.X.Max-p.X.Min, math.Abs(p.X.Max))
		p.X.Min, p.X.Max = p.X.Min-pad, p.X.Max+pad
	}
	if c.padded && !logY {
		p.Y.Max += 0.06 * math.Max(p.Y.Max-p.Y.Min, math.Abs(p.Y.Max))
	}
	switch {
	case logY:
		// Whole decades at both ends, so the axis always has labels
		// (plot.LogTicks labels only powers of ten).
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Min = math.Pow(10, math.Floor(math.Log10(p.Y.Min)))
		p.Y.Max = math.Pow(10, math.Ceil(math.Log10(p.Y.Max)))
		if p.Y.Max <= p.Y.Min {
			p.Y.Max = p.Y.Min * 10
		}
	case c.yFromZero && p.Y.Min > 0:
		p.Y.Min = 0
	}
}

// drawPNG draws p, height high, with the legend in a strip below it.
func drawPNG(p *plot.Plot, legend plot.Legend, height vg.Length) ([]byte, error) {
	legendHeight := vg.Length(0)
	if r := legend.Rectangle(draw.Canvas{}); r.Size().Y > 0 {
		legendHeight = r.Size().Y + 2*legendGap
	}
	img := vgimg.New(chartWidth, height+legendHeight)
	dc := draw.New(img)
	p.Draw(draw.Crop(dc, 0, 0, legendHeight, 0))
	if legendHeight > 0 {
		legend.Draw(draw.Crop(dc, vg.Points(40), 0, legendGap, -(height + legendGap)))
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("chart %q: png: %w", p.Title.Text, err)
	}
	return buf.Bytes(), nil
}

// ninesMax is where quantile curves are cut: p99.999 (OMB's create_charts
// cuts there too; beyond it a run rarely has enough samples).
const ninesMax = 5

// ninesX is OMB's "nines" transform of a percentile (0–100):
// log10(100/(100−p)), so 90% is at 1, 99% at 2, 99.9% at 3.
func ninesX(p float64) float64 { return math.Log10(100 / (100 - p)) }

// ninesTicks labels whole nines (0%, 90%, 99%, 99.9%, …) and the median.
func ninesTicks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	add := func(x float64, label string) {
		if x >= lo-1e-9 && x <= hi+1e-9 {
			ticks = append(ticks, plot.Tick{Value: x, Label: label})
		}
	}
	add(0, "0%")
	add(ninesX(50), "50%")
	for n := 1; n <= ninesMax; n++ {
		add(float64(n), ninesLabel(n))
	}
	return ticks
}

// ninesLabel is the percentile with n nines: 90%, 99%, 99.9%, ….
func ninesLabel(n int) string {
	switch {
	case n <= 0:
		return "0%"
	case n == 1:
		return "90%"
	case n == 2:
		return "99%"
	}
	return "99." + strings.Repeat("9", n-2) + "%"
}

// palette colors the targets: dark enough for thin lines on white,
// told apart by hue.
var palette = []color.Color{
	color.RGBA{31, 119, 180, 255},
	color.RGBA{214, 39, 40, 255},
	color.RGBA{44, 160, 44, 255},
	color.RGBA{255, 127, 14, 255},
	color.RGBA{148, 103, 189, 255},
	color.RGBA{140, 86, 75, 255},
	color.RGBA{227, 119, 194, 255},
	color.RGBA{23, 190, 207, 255},
}

func paletteColor(i int) color.Color { return palette[i%len(palette)] }

// dashPatterns tell apart runs of one target (a rate sweep).
var dashPatterns = [][]vg.Length{
	nil,
	{vg.Points(6), vg.Points(3)},
	{vg.Points(2), vg.Points(2)},
	{vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)},
}

func dashPattern(i int) []vg.Length { return dashPatterns[i%len(dashPatterns)] }
