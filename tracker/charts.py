"""The dashboard's bar chart, laid out on the server and drawn as SVG by a template.

No JavaScript and no inline style (the CSP allows neither): this module works out
every position in SVG user units, the template writes them as attributes, and the
stylesheet (`static/css/tracker.css`, `.chart …`) gives colours, fonts and anchors.
The drawing has a fixed size, so its text keeps one size however many months it
shows; the page scales the whole drawing to its width.
"""

from dataclasses import dataclass, field
from datetime import date

WIDTH, HEIGHT = 720, 300
# The plot area: room on the left for the count axis, below for months and years.
LEFT, RIGHT, TOP, BOTTOM = 64, WIDTH - 8, 48, HEIGHT - 66
# Of each month's slot, the bar takes this share (the rest is the gap between bars),
# but no more than MAX_BAR: three months do not make three blocks across the page.
BAR_SHARE, MAX_BAR = 0.7, 56
MAX_TICKS = 5


@dataclass
class Bar:
    month: date
    count: int
    x: float  # the bar's left edge
    width: float
    top: float
    height: float
    centre: float
    label_y: float  # the count written above the bar
    show_year: bool  # under the first bar and each January


@dataclass
class Tick:
    value: int
    y: float


@dataclass
class MonthChart:
    """What the template draws; every position is in SVG user units."""

    title: str
    bars: list[Bar]
    ticks: list[Tick]
    y_label: str = "Cases"
    x_label: str = "Month of the incident"
    # The frame, the same for every chart.
    width: int = field(default=WIDTH, init=False)
    height: int = field(default=HEIGHT, init=False)
    left: int = field(default=LEFT, init=False)
    right: int = field(default=RIGHT, init=False)
    bottom: int = field(default=BOTTOM, init=False)
    centre: float = field(default=(LEFT + RIGHT) / 2, init=False)
    title_y: int = field(default=22, init=False)
    # The count axis's label is turned a quarter left, so its x runs up the page.
    y_label_x: float = field(default=-(TOP + BOTTOM) / 2, init=False)
    y_label_y: int = field(default=18, init=False)
    tick_label_x: int = field(default=LEFT - 8, init=False)
    month_y: int = field(default=BOTTOM + 18, init=False)
    year_y: int = field(default=BOTTOM + 34, init=False)
    x_label_y: int = field(default=HEIGHT - 8, init=False)


def month_span(counts, last=24):
    """Up to ``last`` months, oldest first, ending with the latest month in ``counts``
    (a dict of first-of-month dates to counts); months without cases included."""
    if not counts:
        return []
    months = sorted(counts)
    first, end = months[0], months[-1]
    span = []
    year, month = end.year, end.month
    while (year, month) >= (first.year, first.month) and len(span) < last:
        span.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return span[::-1]


def tick_step(highest):
    """A round step (1, 2 or 5 times a power of ten) that reaches ``highest`` in at
    most MAX_TICKS steps."""
    magnitude = 1
    while True:
        for multiple in (1, 2, 5):
            step = multiple * magnitude
            if step * MAX_TICKS >= highest:
                return step
        magnitude *= 10


def month_chart(counts, title, last=24):
    """The chart of ``counts`` (first-of-month date → cases) over up to ``last``
    months; None when there is nothing to chart."""
    span = month_span(counts, last)
    if not span:
        return None
    highest = max(counts.get(month, 0) for month in span)
    step = tick_step(max(highest, 1))
    # The axis ends on the first tick at or above the tallest bar.
    axis_max = step * -(-max(highest, 1) // step)
    scale = (BOTTOM - TOP) / axis_max
    slot = (RIGHT - LEFT) / len(span)
    width = min(slot * BAR_SHARE, MAX_BAR)
    bars = []
    for index, month in enumerate(span):
        count = counts.get(month, 0)
        height = count * scale
        centre = LEFT + (index + 0.5) * slot
        bars.append(
            Bar(
                month=month,
                count=count,
                x=round(centre - width / 2, 2),
                width=round(width, 2),
                top=round(BOTTOM - height, 2),
                height=round(height, 2),
                centre=round(centre, 2),
                label_y=round(BOTTOM - height - 6, 2),
                show_year=index == 0 or month.month == 1,
            )
        )
    ticks = [
        Tick(value, round(BOTTOM - value * scale, 2)) for value in range(0, axis_max + 1, step)
    ]
    return MonthChart(title=title, bars=bars, ticks=ticks)
