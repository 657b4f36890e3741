"""The vocabularies of RECORD.md (schema version 1): wire codes with translatable labels."""

from django.db import models
from django.utils.translation import gettext_lazy as _

SCHEMA_VERSION = 1


class PublicationLevel(models.TextChoices):
    DRAFT = "draft", _("Draft")
    INTERNAL = "internal", _("Internal")
    NETWORK = "network", _("Network")
    PUBLIC = "public", _("Public")


SHARED_LEVELS = (PublicationLevel.NETWORK, PublicationLevel.PUBLIC)


class Output(models.TextChoices):
    PREDICTION = "prediction", _("Prediction")
    CLASSIFICATION = "classification", _("Classification")
    RECOMMENDATION = "recommendation", _("Recommendation")
    GENERATED_CONTENT = "generated_content", _("Generated content")
    EXTRACTION = "extraction", _("Extraction")
    DECISION = "decision", _("Decision")
    OTHER = "other", _("Other")


class RegulatoryProcess(models.TextChoices):
    MARKETING_AUTHORISATION = "marketing_authorisation", _("Marketing authorisation")
    VARIATIONS = "variations", _("Variations")
    PHARMACOVIGILANCE = "pharmacovigilance", _("Pharmacovigilance")
    ICSR_PROCESSING = "icsr_processing", _("ICSR processing")
    INSPECTIONS = "inspections", _("Inspections")
    CLINICAL_TRIALS = "clinical_trials", _("Clinical trials")
    SCIENTIFIC_ADVICE = "scientific_advice", _("Scientific advice")
    PRODUCT_INFORMATION = "product_information", _("Product information")
    MEDICAL_DEVICES = "medical_devices", _("Medical devices")
    SHORTAGES = "shortages", _("Shortages")
    REGULATORY_SCIENCE = "regulatory_science", _("Regulatory science")
    COMMUNICATION_TRANSLATION = "communication_translation", _("Communication and translation")
    CORPORATE_SERVICES = "corporate_services", _("Corporate services")
    OTHER = "other", _("Other")


class MedicineScope(models.TextChoices):
    HUMAN = "human", _("Human medicines")
    VETERINARY = "veterinary", _("Veterinary medicines")
    BOTH = "both", _("Human and veterinary")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


class WorkplanArea(models.TextChoices):
    GUIDANCE_POLICY = "guidance_policy", _("Guidance and policy")
    TOOLS_TECHNOLOGY = "tools_technology", _("Tools and technology")
    COLLABORATION_TRAINING = "collaboration_training", _("Collaboration and training")
    EXPERIMENTATION = "experimentation", _("Experimentation")


class Technique(models.TextChoices):
    GENERATIVE_LLM = "generative_llm", _("Generative AI / LLM")
    NLP = "nlp", _("Natural language processing")
    MACHINE_LEARNING = "machine_learning", _("Machine learning")
    COMPUTER_VISION = "computer_vision", _("Computer vision")
    SPEECH = "speech", _("Speech")
    OPTIMISATION = "optimisation", _("Optimisation")
    RULE_BASED = "rule_based", _("Rule-based")
    AGENTIC = "agentic", _("Agentic")
    OTHER = "other", _("Other")


class Stage(models.TextChoices):
    IDEA = "idea", _("Idea")
    PLANNED = "planned", _("Planned")
    DEVELOPMENT = "development", _("Development")
    PILOT = "pilot", _("Pilot")
    PRODUCTION = "production", _("Production")
    SUSPENDED = "suspended", _("Suspended")
    RETIRED = "retired", _("Retired")


class AiActRole(models.TextChoices):
    PROVIDER = "provider", _("Provider")
    DEPLOYER = "deployer", _("Deployer")
    PROVIDER_AND_DEPLOYER = "provider_and_deployer", _("Provider and deployer")


class AiActRisk(models.TextChoices):
    PROHIBITED = "prohibited", _("Prohibited")
    HIGH = "high", _("High risk")
    LIMITED = "limited", _("Limited risk")
    MINIMAL = "minimal", _("Minimal risk")
    NOT_ASSESSED = "not_assessed", _("Not assessed")


class PersonalData(models.TextChoices):
    NONE = "none", _("None")
    PSEUDONYMISED = "pseudonymised", _("Pseudonymised")
    PERSONAL = "personal", _("Personal data")
    SPECIAL_CATEGORY = "special_category", _("Special category data")


class DpiaStatus(models.TextChoices):
    NOT_REQUIRED = "not_required", _("Not required")
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")


class HumanOversight(models.TextChoices):
    IN_THE_LOOP = "human_in_the_loop", _("Human in the loop")
    ON_THE_LOOP = "human_on_the_loop", _("Human on the loop")
    OUT_OF_THE_LOOP = "human_out_of_the_loop", _("Human out of the loop")


class Sourcing(models.TextChoices):
    IN_HOUSE = "in_house", _("In house")
    VENDOR = "vendor", _("Vendor")
    OPEN_SOURCE = "open_source", _("Open source")
    NETWORK_SHARED = "network_shared", _("Shared in the network")
    MIXED = "mixed", _("Mixed")


class Hosting(models.TextChoices):
    ON_PREMISE = "on_premise", _("On premise")
    EU_CLOUD = "eu_cloud", _("EU cloud")
    NON_EU_CLOUD = "non_eu_cloud", _("Non-EU cloud")
    SAAS = "saas", _("Software as a service")


class RelationKind(models.TextChoices):
    DUPLICATE_OF = "duplicate_of", _("Duplicate of")
    DERIVED_FROM = "derived_from", _("Derived from")
    SAME_PRODUCT = "same_product", _("Same product")
    SUPERSEDES = "supersedes", _("Supersedes")


class AgencyKind(models.TextChoices):
    EMA = "ema", _("European Medicines Agency")
    HUMAN = "human", _("Human medicines")
    VETERINARY = "veterinary", _("Veterinary medicines")
    HUMAN_AND_VETERINARY = "human_and_veterinary", _("Human and veterinary medicines")
    # Not an agency: a public register of bodies outside the network (registry.reference).
    REFERENCE_REGISTER = "reference_register", _("Reference register (outside the network)")
