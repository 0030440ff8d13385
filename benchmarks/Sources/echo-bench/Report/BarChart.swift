/// The throughput matrix as a horizontal bar chart in hand-written SVG: one group per
/// workload, one bar per server, each group scaled to its own fastest server (so rows of very
/// different rates stay readable), the value written at the end of each bar.
extension SuiteReport {
    func svg() -> String {
        // Fourteen distinct colours before any repeats.
        let palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
                       "#ff9da7", "#9c755f", "#bab0ac", "#1f3d5c", "#8cd17d", "#d37295", "#b6992d"]
        let servers = serverNames
        let labelWidth = 150.0, barArea = 560.0, valueWidth = 150.0
        let barHeight = 14.0, barGap = 2.0, groupGap = 14.0, top = 56.0
        let groupHeight = Double(servers.count) * (barHeight + barGap) + groupGap
        let legendHeight = Double(servers.count) * 18 + 10
        let width = labelWidth + barArea + valueWidth
        let height = top + Double(workloadNames.count) * groupHeight + legendHeight

        var out = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">Round trips per second (median of \(settings.rounds))\(interrupted.map { ", interrupted by " + Interrupt.name($0) } ?? "")</text>",
            "<text x=\"10\" y=\"38\" fill=\"#555\">\(escape(machine.date)), \(machine.cores) cores, \(escape(machine.cpuModel)); bars scaled to each workload's fastest</text>",
        ]
        for (row, workload) in workloadNames.enumerated() {
            let y0 = top + Double(row) * groupHeight
            let cells = servers.map { cell(workload, $0) }
            let fastest = cells.compactMap { $0?.roundTripsPerSecond }.max() ?? 0
            let middle = y0 + Double(servers.count) * (barHeight + barGap) / 2
            out.append("<text x=\"\(labelWidth - 8)\" y=\"\(fmt(middle + 4))\" text-anchor=\"end\" font-weight=\"bold\">\(escape(workload))</text>")
            for (index, cell) in cells.enumerated() {
                let y = y0 + Double(index) * (barHeight + barGap)
                let rate = cell?.roundTripsPerSecond ?? 0
                let length = fastest > 0 ? rate / fastest * barArea : 0
                let color = palette[index % palette.count]
                out.append("<rect x=\"\(labelWidth)\" y=\"\(fmt(y))\" width=\"\(fmt(length))\" height=\"\(barHeight)\" fill=\"\(color)\"><title>\(escape(servers[index])): \(Decimal3.grouped(rate))/s</title></rect>")
                let text = cell.map { Decimal3.grouped($0.roundTripsPerSecond) + ($0.isClean ? "" : " ⚠") } ?? missing(workload, servers[index])
                out.append("<text x=\"\(fmt(labelWidth + length + 4))\" y=\"\(fmt(y + barHeight - 3))\">\(escape(text))</text>")
            }
        }
        let legendTop = top + Double(workloadNames.count) * groupHeight
        for (index, server) in servers.enumerated() {
            let y = legendTop + Double(index) * 18
            out.append("<rect x=\"\(labelWidth)\" y=\"\(fmt(y))\" width=\"12\" height=\"12\" fill=\"\(palette[index % palette.count])\"/>")
            out.append("<text x=\"\(labelWidth + 18)\" y=\"\(fmt(y + 10))\">\(escape(server))\(server == settings.baseline ? " (baseline)" : "")</text>")
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    private func fmt(_ value: Double) -> String { Decimal3.text(value, places: 1) }

    private func escape(_ text: String) -> String {
        text.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;").replacing("\"", with: "&quot;")
    }
}
