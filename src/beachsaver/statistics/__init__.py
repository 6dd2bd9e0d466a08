"""Statistics: figures by period, organisation, beach, team, worker and litter type; Excel
export; GeoJSON maps with the forecast; the dashboard KPIs and a worker's own performance."""
