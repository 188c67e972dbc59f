// Charts are Apache ECharts (vendor/echarts, loaded as a plain script: the global ``echarts``).
// This module only keeps one chart per element, resizes it with its box, and sets the look
// shared by every chart; what each chart shows lives with its view.

import { axisScale, tick } from "./units.js";

export const COLORS = ["#2f6fb0", "#e0782a", "#3a9d5d", "#9b59b6", "#c0392b", "#16a2b8", "#7f8c8d", "#d4a017"];
const observer = new ResizeObserver((entries) => entries.forEach((entry) => echarts.getInstanceByDom(entry.target)?.resize()));

// The chart drawn in ``element`` (created on first use), with ``option`` set as a whole.
export function draw(element, option) {
  let chart = echarts.getInstanceByDom(element);
  if (!chart) {
    chart = echarts.init(element, null, { renderer: "canvas" });
    observer.observe(element);
  }
  chart.setOption({
    color: COLORS, animation: false, aria: { enabled: true },
    textStyle: { fontFamily: "system-ui, sans-serif" },
    ...option,
  }, { notMerge: true });
  return chart;
}

// An axis for a quantity (units.js): its name with unit, log when it spans decades.
export function axis(name, values, extra = {}) {
  const scale = axisScale(name, values);
  return {
    scale,
    axis: {
      type: scale.log ? "log" : "value", name: scale.name, nameLocation: "middle", nameGap: 32, scale: true,
      nameTextStyle: { fontSize: 13, color: "#333" }, splitLine: { lineStyle: { color: "#eee" } },
      axisLabel: { formatter: (v) => tick(v) },
      ...extra,
    },
  };
}

export function grid(extra = {}) {
  return { left: 70, right: 30, top: 40, bottom: 55, containLabel: false, ...extra };
}
