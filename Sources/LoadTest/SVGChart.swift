import Foundation

/// A line chart written as plain SVG (polylines, axes, tick labels), so the
/// report needs no plotting library.
public struct SVGChart: Sendable {
    /// One line.
    public struct Series: Sendable {
        /// Legend text.
        public var name: String
        /// CSS colour.
        public var color: String
        /// (x, y) points in data units, in x order.
        public var points: [(x: Double, y: Double)]

        /// Creates a series.
        public init(name: String, color: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.color = color
            self.points = points
        }
    }

    /// How the x axis maps data to position.
    public enum XScale: Sendable {
        /// Linear.
        case linear
        /// For percentiles 0...100: position ∝ −log10(1 − p/100), so the tail
        /// (99, 99.9, 99.99) gets room, as HdrHistogram plots do.
        case percentileTail
    }

    /// Title above the plot.
    public var title: String
    /// X-axis label.
    public var xLabel: String
    /// Y-axis label.
    public var yLabel: String
    /// The lines.
    public var series: [Series]
    /// The x mapping.
    public var xScale: XScale
    /// Canvas width and height in pixels.
    public var width = 720.0, height = 360.0

    /// Creates a chart.
    public init(title: String, xLabel: String, yLabel: String, series: [Series], xScale: XScale = .linear) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.xScale = xScale
    }

    private static let tailMax = 4.0  // up to the 99.99th percentile

    private func tx(_ x: Double) -> Double {
        switch xScale {
        case .linear: return x
        case .percentileTail: return min(Self.tailMax, -log10(max(1e-4, 1 - x / 100)))
        }
    }

    /// The SVG document.
    public var svg: String {
        let left = 70.0, right = 20.0, top = 40.0, bottom = 50.0
        let pw = width - left - right, ph = height - top - bottom
        let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let xs = all.map { tx($0.x) }
        var x0 = xs.min() ?? 0, x1 = xs.max() ?? 1
        if case .percentileTail = xScale { x0 = 0; x1 = max(x1, 2) }
        if x1 <= x0 { x1 = x0 + 1 }
        let y0 = 0.0
        let y1 = Self.niceCeiling(max(all.map(\.y).max() ?? 1, 1e-9))
        func px(_ x: Double) -> Double { left + (tx(x) - x0) / (x1 - x0) * pw }
        func py(_ y: Double) -> Double { top + ph - (y - y0) / (y1 - y0) * ph }

        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
        viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(Int(width / 2))" y="22" text-anchor="middle" font-size="15">\(Self.escape(title))</text>

        """
        // Grid and y ticks.
        for i in 0...5 {
            let v = y0 + (y1 - y0) * Double(i) / 5
            let y = py(v)
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + pw))\" y2=\"\(f(y))\" stroke=\"#ddd\"/>\n"
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(Self.label(v))</text>\n"
        }
        // X ticks.
        let xticks: [(Double, String)]
        switch xScale {
        case .percentileTail:
            xticks = [(0, "0"), (90, "90"), (99, "99"), (99.9, "99.9"), (99.99, "99.99")].filter { tx($0.0) <= x1 }
        case .linear:
            xticks = (0...6).map { i in
                let v = x0 + (x1 - x0) * Double(i) / 6
                return (v, Self.label(v))
            }
        }
        for (v, text) in xticks {
            let x = px(v)
            s += "<line x1=\"\(f(x))\" y1=\"\(f(top + ph))\" x2=\"\(f(x))\" y2=\"\(f(top + ph + 5))\" stroke=\"#333\"/>\n"
            s += "<text x=\"\(f(x))\" y=\"\(f(top + ph + 18))\" text-anchor=\"middle\">\(text)</text>\n"
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        s += "<text transform=\"translate(16 \(f(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"
        for (i, line) in series.enumerated() {
            let pts = line.points.filter { $0.x.isFinite && $0.y.isFinite }
                .map { "\(f(px($0.x))),\(f(py(min($0.y, y1))))" }.joined(separator: " ")
            if !pts.isEmpty {
                s += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\" points=\"\(pts)\"/>\n"
            }
            let ly = top + 14 + Double(i) * 16
            s += "<line x1=\"\(f(left + 10))\" y1=\"\(f(ly - 4))\" x2=\"\(f(left + 30))\" y2=\"\(f(ly - 4))\" stroke=\"\(line.color)\" stroke-width=\"2\"/>\n"
            s += "<text x=\"\(f(left + 36))\" y=\"\(f(ly))\">\(Self.escape(line.name))</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }

    /// 1, 2 or 5 times a power of ten, at least `v`.
    static func niceCeiling(_ v: Double) -> Double {
        let p = pow(10, floor(log10(v)))
        for m in [1.0, 2, 5, 10] where m * p >= v { return m * p }
        return 10 * p
    }

    static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        if abs(v) >= 10 { return String(format: "%.0f", v) }
        if abs(v) >= 1 { return String(format: "%.1f", v) }
        return String(format: "%.3f", v)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
