/// Text and number formatting for the SVG writer: XML escaping, pixel coordinates, exact tick labels.
enum SVGText {
    /// `text` with the five XML special characters escaped, safe both as element text and inside a
    /// double- or single-quoted attribute. Control characters that XML 1.0 forbids become spaces,
    /// so that any label still gives a well-formed document.
    static func escape(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A pixel coordinate with at most two decimals and no exponent ("12.5", "-3", never "-0").
    /// Values are clamped to ±10⁷ px: far outside any figure, and the clip path hides them anyway.
    static func coordinate(_ value: Double) -> String {
        let clamped = value.isNaN ? 0 : min(max(value, -1e7), 1e7)
        let hundredths = Int((clamped * 100).rounded())
        let magnitude = hundredths.magnitude
        let whole = magnitude / 100, fraction = magnitude % 100
        let sign = hundredths < 0 ? "-" : ""
        if fraction == 0 { return sign + String(whole) }
        if fraction % 10 == 0 { return "\(sign)\(whole).\(fraction / 10)" }
        return "\(sign)\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// The decimal number `significand` × 10^`exponent`, written exactly and compactly: plain from
    /// 0.001 up to 999999 ("0.5", "1.5", "250"), otherwise in e-notation ("1e-4", "2.5e6").
    /// Working from integers avoids binary artefacts such as "0.30000000000000004".
    static func decimal(significand: Int, exponent: Int) -> String {
        if significand == 0 { return "0" }
        var digits = significand.magnitude, exponent = exponent
        while digits % 10 == 0 { digits /= 10; exponent += 1 }
        let text = String(digits), sign = significand < 0 ? "-" : ""
        let power = text.count - 1 + exponent  // position of the leading digit
        if power < -3 || power > 5 {
            let mantissa = text.count == 1 ? text : "\(text.prefix(1)).\(text.dropFirst())"
            return "\(sign)\(mantissa)e\(power)"
        }
        if exponent >= 0 { return sign + text + String(repeating: "0", count: exponent) }
        let decimals = -exponent
        if text.count > decimals {
            return "\(sign)\(text.dropLast(decimals)).\(text.suffix(decimals))"
        }
        return "\(sign)0.\(String(repeating: "0", count: decimals - text.count))\(text)"
    }

    /// A rough width in pixels of `text` in a sans-serif font of `fontSize`, for layout only:
    /// the writer cannot measure glyphs, so it budgets 0.56 em per character (DejaVu Sans averages a little less).
    static func estimatedWidth(_ text: String, fontSize: Double) -> Double {
        Double(text.count) * fontSize * 0.56
    }
}
