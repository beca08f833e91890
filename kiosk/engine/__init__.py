"""The services above storage and the models: engine, intake, drawing, staff, wall feed."""
