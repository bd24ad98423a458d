# chart.gp: bars per metric, each path's median normalised to kernel nftables DNAT = 1.
# gnuplot -e "datafile='chart.dat'; outfile='bench.png'" tools/bench/chart.gp  (chart.dat: tools/bench/summary.py)
if (!exists("datafile")) datafile = 'chart.dat'
if (!exists("outfile")) outfile = 'bench.png'
set terminal pngcairo size 860,380 font "DejaVu Sans,10" noenhanced
set output outfile
if (!exists("runs")) runs = 3
set title sprintf("rawlb and the kernel/HAProxy anchors in one run (medians of %d; nftables DNAT = 1)", runs)
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set datafile missing "NA"
set key below horizontal
set ylabel "relative to nftables DNAT"
set yrange [0:*]
set grid ytics
set xtics scale 0
set arrow from graph 0, first 1 to graph 1, first 1 nohead dashtype 2 lc rgb "#555555"
plot for [i=2:*] datafile using i:xtic(1) title columnhead(i)
